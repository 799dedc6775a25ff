"""Tables of the operator's systems: their endpoints, what each was asked, and every notice sent.

No column holds a personal value in plaintext. What a system posts for an access package is
sealed under the subject's data key (an erasure shreds it); an event's body travels sealed in
the outbox row, and the notice row keeps only ids, names and times: the record of who was
told what kind of thing, and when (Art. 5(2), Art. 19 GDPR).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from schutz.db import Base, UtcDateTime
from schutz.disclosures.models import WebhookEndpoint


class Answer(StrEnum):
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"


class Target(StrEnum):
    SYSTEM = "system"
    RECIPIENT = "recipient"


class SystemEndpoint(WebhookEndpoint, Base):
    """Where one of the operator's systems named in the policy receives request events."""

    __tablename__ = "system_endpoint"

    system: Mapped[str] = mapped_column(
        String(64), primary_key=True, comment="System key in the policy, e.g. shop_database."
    )


class RequestSystem(Base):
    """One system's part in one request: asked, then done or failed, with its note."""

    __tablename__ = "request_system"

    request_id: Mapped[str] = mapped_column(
        ForeignKey("data_request.id", ondelete="CASCADE"),
        primary_key=True,
        comment="The request.",
    )
    system: Mapped[str] = mapped_column(String(64), primary_key=True, comment="System key.")
    event: Mapped[str] = mapped_column(String(40), comment="The event it was asked to act on.")
    status: Mapped[str] = mapped_column(String(16), comment="pending, done or failed.")
    note: Mapped[str | None] = mapped_column(
        Text, comment="The system's note (no personal data expected)."
    )
    asked_at: Mapped[datetime] = mapped_column(UtcDateTime, comment="Event queued (UTC).")
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime, comment="Answer (UTC).")
    data_sealed: Mapped[bytes | None] = mapped_column(
        LargeBinary, comment="Data the system posted for the access package, sealed."
    )


class RequestNotice(Base):
    """One signed event or Art. 19 notice to a system or a recipient, and its delivery."""

    __tablename__ = "request_notice"

    id: Mapped[str] = mapped_column(
        String(32), primary_key=True, comment="Random hex id; the body's id and Idempotency-Key."
    )
    request_id: Mapped[str | None] = mapped_column(
        String(32), index=True, comment="The request that caused it, if any."
    )
    subject_id: Mapped[str | None] = mapped_column(
        String(32), index=True, comment="Whose data it concerns (vault id)."
    )
    target_kind: Mapped[str] = mapped_column(String(16), comment="system or recipient.")
    target: Mapped[str] = mapped_column(String(64), comment="System or recipient key.")
    event: Mapped[str] = mapped_column(String(40), comment="request.verified, notice.erasure...")
    details: Mapped[dict[str, object]] = mapped_column(
        JSON, comment="Order references and category names only."
    )
    outbox_id: Mapped[str] = mapped_column(String(32), comment="The outbox row delivering it.")
    attempts: Mapped[int] = mapped_column(Integer, default=0, comment="Attempts that failed.")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, comment="Queued (UTC).")
    delivered_at: Mapped[datetime | None] = mapped_column(
        UtcDateTime, comment="When the receiver answered 2xx (UTC)."
    )
