"""The outbox table: deliveries (e-mails, later webhooks) written in a transaction, sent later."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from schutz.db import Base, UtcDateTime
from schutz.mail.vocabulary import OutboxKind, OutboxStatus

__all__ = ["OutboxKind", "OutboxMessage", "OutboxStatus"]


class OutboxMessage(Base):
    """One delivery waiting for, undergoing or done with its trip out of Schutz.

    A row is written in the same transaction as the change that causes it, so a rolled-back
    change never sends anything and a committed one always does (the transactional outbox).
    """

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "kind", "status", "next_attempt_at"),
        # An erasure deletes the subject's rows by this (`retention.forget_subject`): without
        # it, a scan of the whole outbox (75 ms at 20,000 rows) inside the erasure.
        Index("ix_outbox_subject", text("(payload ->> 'subject_id')")).ddl_if(dialect="postgresql"),
    )

    id: Mapped[str] = mapped_column(
        String(32), primary_key=True, comment="Random hex id; also the .eml file name."
    )
    kind: Mapped[str] = mapped_column(String(16), comment="'email' or 'webhook'.")
    idempotency_key: Mapped[str] = mapped_column(
        String(200),
        unique=True,
        comment="Names the delivery; enqueueing the same key twice yields the first row.",
    )
    payload: Mapped[dict[str, Any]] = mapped_column(
        JSON,
        comment="What to deliver; for e-mail: to, subject, body, headers (personal data).",
    )
    status: Mapped[str] = mapped_column(
        String(16), comment="pending, sending (leased to a worker), sent or dead."
    )
    attempts: Mapped[int] = mapped_column(
        Integer, default=0, comment="Delivery attempts started so far."
    )
    next_attempt_at: Mapped[datetime] = mapped_column(
        UtcDateTime,
        comment="Pending: not before this time. Sending: the lease ends at this time.",
    )
    lease_token: Mapped[str | None] = mapped_column(
        String(32), comment="Set by the worker that holds the lease; only it may finish the row."
    )
    last_error: Mapped[str | None] = mapped_column(
        Text, comment="Why the last attempt failed: error class and code only, no personal data."
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, comment="When it was enqueued.")
    sent_at: Mapped[datetime | None] = mapped_column(
        UtcDateTime, comment="When the delivery was accepted (SMTP) or written (.eml)."
    )
