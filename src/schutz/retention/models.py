"""The subject_event table: the moments some retention periods count from.

"Six months after the last message" and "three years after the contract ends" need a date
only the shop knows; it posts it (`POST /api/v1/subjects/{id}/events`). The rows hold ids,
a type and a time, nothing personal.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from schutz.db import Base, UtcDateTime

RowId = BigInteger().with_variant(Integer(), "sqlite")


class SubjectEventType(StrEnum):
    """The events a policy's `retention.start` may name that Schutz cannot see itself."""

    LAST_CONTACT = "last_contact"
    CONTRACT_ENDED = "contract_ended"


class SubjectEvent(Base):
    """One event in a subject's relation with the shop, as the shop reported it."""

    __tablename__ = "subject_event"
    __table_args__ = (
        CheckConstraint("type IN ('last_contact', 'contract_ended')", name="type"),
        Index("ix_subject_event_subject_type", "subject_id", "type", "at"),
    )

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    subject_id: Mapped[str] = mapped_column(
        ForeignKey("vault_subject.id", ondelete="CASCADE"), comment="Whose relation."
    )
    type: Mapped[str] = mapped_column(String(16), comment="last_contact or contract_ended.")
    at: Mapped[datetime] = mapped_column(UtcDateTime, comment="When it happened (UTC).")
    recorded_by: Mapped[str] = mapped_column(String(120), comment="Audit label of the caller.")
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime, comment="Received (UTC).")
