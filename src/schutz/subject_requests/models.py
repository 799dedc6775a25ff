"""Tables of data-subject requests, their history, and the privacy centre's sign-in tokens.

No column holds a personal value in plaintext: the requester's free text is sealed under the
subject's own data key (so an erasure shreds it too), and tokens are stored as hashes. The
text of a request for an address no subject has is not kept at all: such a request can
only end as "no data", and sealing it under a key of its own would keep, for nothing, words
about a person Schutz otherwise knows nothing of (Art. 5(1)(c) GDPR, data minimisation).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from schutz.db import Base, UtcDateTime

RowId = BigInteger().with_variant(Integer(), "sqlite")


class RequestKind(StrEnum):
    """The rights of Art. 15-18, 20 and 21 GDPR (completion is Art. 16, second sentence)."""

    ACCESS = "access"
    RECTIFICATION = "rectification"
    COMPLETION = "completion"
    ERASURE = "erasure"
    OBJECTION = "objection"
    RESTRICTION = "restriction"
    PORTABILITY = "portability"


class RequestChannel(StrEnum):
    """How the request reached us; post, fax and phone are entered by staff."""

    WEB = "web"
    API = "api"
    POST = "post"
    FAX = "fax"
    PHONE = "phone"
    EMAIL = "email"


class RequestStatus(StrEnum):
    RECEIVED = "received"
    AWAITING_VERIFICATION = "awaiting_verification"
    IN_PROGRESS = "in_progress"
    AWAITING_SYSTEMS = "awaiting_systems"
    COMPLETED = "completed"
    REFUSED = "refused"
    EXPIRED = "expired"


OPEN_STATUSES = (
    RequestStatus.RECEIVED,
    RequestStatus.AWAITING_VERIFICATION,
    RequestStatus.IN_PROGRESS,
    RequestStatus.AWAITING_SYSTEMS,
)


def one_of(column: str, values: type[StrEnum]) -> str:
    listed = ", ".join(f"'{v.value}'" for v in values)
    return f"{column} IN ({listed})"


class DataRequest(Base):
    """One request of a data subject, from receipt to its answer (Art. 12(3) GDPR)."""

    __tablename__ = "data_request"
    __table_args__ = (
        CheckConstraint(one_of("kind", RequestKind), name="kind"),
        CheckConstraint(one_of("channel", RequestChannel), name="channel"),
        CheckConstraint(one_of("status", RequestStatus), name="status"),
        Index("ix_data_request_status_due", "status", "due_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, comment="Random hex id.")
    kind: Mapped[str] = mapped_column(String(16), comment="access, erasure, ... (Art. 15-21).")
    channel: Mapped[str] = mapped_column(String(16), comment="web, api, post, fax, phone, email.")
    status: Mapped[str] = mapped_column(String(24), comment="Where the request stands.")
    subject_id: Mapped[str | None] = mapped_column(
        String(32),
        index=True,
        comment="Vault id of the subject the address belongs to; NULL if none was known.",
    )
    lang: Mapped[str] = mapped_column(String(8), comment="Language of the mails to the subject.")
    details_sealed: Mapped[bytes | None] = mapped_column(
        LargeBinary, comment="The requester's free text, sealed under the subject's data key."
    )
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, comment="Receipt (UTC).")
    due_at: Mapped[datetime] = mapped_column(
        UtcDateTime, comment="Answer due: one month after receipt, plus any extension."
    )
    verify_by: Mapped[datetime | None] = mapped_column(
        UtcDateTime, comment="Unverified after this, the request expires."
    )
    verified_at: Mapped[datetime | None] = mapped_column(UtcDateTime, comment="Identity checked.")
    verification: Mapped[str | None] = mapped_column(
        String(16), comment="email_link, manual or session (privacy centre)."
    )
    handler: Mapped[str | None] = mapped_column(
        String(120), comment="Staff member handling it (audit label)."
    )
    extended_months: Mapped[int] = mapped_column(
        Integer, default=0, comment="Months added to the deadline (at most 2, Art. 12(3))."
    )
    extension_reason: Mapped[str | None] = mapped_column(
        Text, comment="Why the deadline was extended; told to the subject."
    )
    approved_by: Mapped[str | None] = mapped_column(
        String(120), comment="DPO who approved the erasure (audit label)."
    )
    approved_at: Mapped[datetime | None] = mapped_column(UtcDateTime, comment="Approval (UTC).")
    completed_at: Mapped[datetime | None] = mapped_column(
        UtcDateTime, comment="Answered, refused or expired at (UTC)."
    )
    outcome: Mapped[str | None] = mapped_column(
        String(32), comment="What was done: export_ready, erased, erasure_held, no_data, ..."
    )
    held_until: Mapped[date | None] = mapped_column(
        Date, comment="For a held-back erasure: the day the legal hold lapses."
    )
    refusal_reason: Mapped[str | None] = mapped_column(
        Text, comment="Why the request was refused (Art. 12(4)); told to the subject."
    )
    external_ref: Mapped[str | None] = mapped_column(
        String(80), index=True, comment="The operator's own reference (a ticket number)."
    )


class RequestEvent(Base):
    """One step in a request's history: who did what, when; notes hold no personal data."""

    __tablename__ = "data_request_event"

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(
        ForeignKey("data_request.id", ondelete="CASCADE"), index=True, comment="The request."
    )
    at: Mapped[datetime] = mapped_column(UtcDateTime, comment="When (UTC).")
    actor: Mapped[str] = mapped_column(String(120), comment="Audit label of who acted.")
    action: Mapped[str] = mapped_column(String(32), comment="received, verified, extended, ...")
    note: Mapped[str | None] = mapped_column(Text, comment="Staff note or reason, if any.")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, comment="Ids, dates and counts only.")


class AccountToken(Base):
    """A privacy-centre credential: a mailed sign-in link, or the session it opened.

    Only the SHA-256 of the random token is stored; the token itself is in the mail or the
    cookie, so a copy of the database opens no one's privacy centre.
    """

    __tablename__ = "account_token"
    __table_args__ = (CheckConstraint("kind IN ('link', 'session')", name="kind"),)

    token_hash: Mapped[str] = mapped_column(
        String(64), primary_key=True, comment="SHA-256 (hex) of the random token."
    )
    kind: Mapped[str] = mapped_column(String(8), comment="link (mailed) or session (cookie).")
    subject_id: Mapped[str] = mapped_column(String(32), index=True, comment="Whose centre.")
    csrf_token: Mapped[str | None] = mapped_column(
        String(64), comment="The session's form token (sessions only)."
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, comment="Issued (UTC).")
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, comment="Invalid after (UTC).")
    used_at: Mapped[datetime | None] = mapped_column(
        UtcDateTime, comment="A link is good for one sign-in; set when used."
    )


class PendingLookup(Base):
    """A public form's address, waiting for the worker to look it up after the answer left.

    Public forms answer at once and alike for known and unknown people (equal answers), so
    the vault look-up, key unwrap and mail happen later. The row holds the address sealed
    under a key derived from the master key, never in the clear, and is deleted when handled.
    """

    __tablename__ = "pending_lookup"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, comment="Random hex id.")
    kind: Mapped[str] = mapped_column(
        String(16), comment="What to do once looked up: account_link, request or newsletter."
    )
    key_id: Mapped[str] = mapped_column(
        String(16), comment="Id of the master key the sealing key was derived from."
    )
    sealed: Mapped[bytes] = mapped_column(
        LargeBinary, comment="AES-256-GCM of the job (address and all) under the derived key."
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, comment="Queued at (UTC).")
