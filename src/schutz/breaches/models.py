"""Tables of the breach register: one row per breach, and the subjects it affected.

A breach row describes an incident, never a person: the texts are the DPO's account of
what happened (Art. 33(5) GDPR: document every breach, its effects and the remedy). The
affected subjects are kept by their opaque vault ids only, so the register can say who was
told without holding anyone's address.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from schutz.db import Base, UtcDateTime


class Risk(StrEnum):
    """The DPO's assessment, which decides who must be told (Art. 33(1), 34(1) GDPR)."""

    NONE = "none"
    """Unlikely to result in a risk: documented, the authority is not notified."""
    RISK = "risk"
    """A risk: the supervisory authority is notified within 72 hours."""
    HIGH = "high"
    """A high risk: the authority and the affected subjects are told."""


class Breach(Base):
    """One personal-data breach, from the moment the controller became aware of it."""

    __tablename__ = "breach"
    __table_args__ = (CheckConstraint("risk IN ('none', 'risk', 'high')", name="risk"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, comment="Random hex id.")
    title: Mapped[str] = mapped_column(String(200), comment="Short label; no personal data.")
    nature: Mapped[str] = mapped_column(
        Text, comment="What happened (Art. 33(3)(a)); the DPO's words, no personal data."
    )
    aware_at: Mapped[datetime] = mapped_column(
        UtcDateTime, comment="When the controller became aware; the 72 hours run from here."
    )
    occurred_from: Mapped[datetime | None] = mapped_column(
        UtcDateTime, comment="Start of the breach, if known (UTC)."
    )
    occurred_until: Mapped[datetime | None] = mapped_column(
        UtcDateTime, comment="End of the breach, if known (UTC); else awareness counts."
    )
    categories: Mapped[list[str]] = mapped_column(
        JSON, comment="Data categories concerned (taxonomy keys from the policy)."
    )
    sources: Mapped[list[str]] = mapped_column(
        JSON, comment="Intake sources concerned; empty means every source."
    )
    risk: Mapped[str] = mapped_column(String(8), comment="none, risk or high (Art. 33/34).")
    consequences: Mapped[str] = mapped_column(Text, comment="Likely consequences (Art. 33(3)(c)).")
    measures: Mapped[str] = mapped_column(
        Text, comment="Measures taken or proposed (Art. 33(3)(d))."
    )
    affected_subjects: Mapped[int] = mapped_column(
        Integer, comment="Subjects the query found when the breach was recorded."
    )
    affected_records: Mapped[int] = mapped_column(
        Integer, comment="Personal fields of theirs in the concerned categories."
    )
    recorded_by: Mapped[str] = mapped_column(String(120), comment="Audit label of the DPO.")
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime, comment="Entered (UTC).")
    reported_at: Mapped[datetime | None] = mapped_column(
        UtcDateTime, comment="When the supervisory authority was notified (UTC)."
    )
    authority_reference: Mapped[str | None] = mapped_column(
        String(80), comment="The authority's file number, once it gave one."
    )
    delay_reason: Mapped[str | None] = mapped_column(
        Text, comment="Why the notification came after 72 hours (Art. 33(1))."
    )
    subjects_notified_at: Mapped[datetime | None] = mapped_column(
        UtcDateTime, comment="When the mails to the affected subjects were queued (Art. 34)."
    )


class BreachSubject(Base):
    """A subject a breach affected: the opaque id, and when the Art. 34 mail was queued."""

    __tablename__ = "breach_subject"

    breach_id: Mapped[str] = mapped_column(
        ForeignKey("breach.id", ondelete="CASCADE"), primary_key=True, comment="The breach."
    )
    subject_id: Mapped[str] = mapped_column(
        String(32), primary_key=True, index=True, comment="Vault id of an affected subject."
    )
    notified_at: Mapped[datetime | None] = mapped_column(
        UtcDateTime, comment="Mail queued (UTC); NULL while not told or no address is left."
    )
