"""The consent_event table: one row per thing a subject or visitor said about a purpose.

Rows are only ever added. The current state of a subject is derived from its events, so the
ledger can show what the subject had agreed to at any past moment (Art. 7(1) GDPR).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from schutz.consent.vocabulary import ConsentAction, ConsentChannel
from schutz.db import Base, UtcDateTime

__all__ = ["ConsentAction", "ConsentChannel", "ConsentEvent"]

RowId = BigInteger().with_variant(Integer(), "sqlite")


def _one_of(column: str, values: type[StrEnum]) -> str:
    listed = ", ".join(f"'{v.value}'" for v in values)
    return f"{column} IN ({listed})"


class ConsentEvent(Base):
    """One statement about one purpose, by a known subject or an anonymous visitor.

    Exactly one of `subject_id` and `visitor_id` is set. `subject_id` is the vault's opaque
    id, kept without a foreign key so the proof stands on its own; `visitor_id` is the
    random value of a cookie and joins to nothing (clause C14).
    """

    __tablename__ = "consent_event"
    __table_args__ = (
        CheckConstraint("(subject_id IS NULL) <> (visitor_id IS NULL)", name="subject_xor_visitor"),
        CheckConstraint(_one_of("action", ConsentAction), name="action"),
        CheckConstraint(_one_of("channel", ConsentChannel), name="channel"),
        Index("ix_consent_event_subject", "subject_id", "purpose", "at"),
        Index("ix_consent_event_visitor", "visitor_id", "purpose", "at"),
    )

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    subject_id: Mapped[str | None] = mapped_column(
        String(32), comment="The data subject (vault id), or NULL for an anonymous visitor."
    )
    visitor_id: Mapped[str | None] = mapped_column(
        String(64), comment="Opaque cookie id of an anonymous visitor, or NULL for a subject."
    )
    purpose: Mapped[str] = mapped_column(String(64), comment="Purpose key from the policy.")
    action: Mapped[str] = mapped_column(String(16), comment="grant, confirm, withdraw or object.")
    channel: Mapped[str] = mapped_column(
        String(16), comment="web, post, fax, email, phone, api or gpc."
    )
    policy_version: Mapped[str] = mapped_column(
        String(40), comment="Version of the privacy policy in force when it was said."
    )
    wording_hash: Mapped[str | None] = mapped_column(
        String(64), comment="SHA-256 (hex) of the exact consent wording shown, if any."
    )
    wording_version: Mapped[str | None] = mapped_column(
        String(40), comment="Version label of that wording (e.g. the template's)."
    )
    ip_truncated: Mapped[str | None] = mapped_column(
        String(45), comment="Client address cut to IPv4 /24 or IPv6 /48; never the full one."
    )
    user_agent: Mapped[str | None] = mapped_column(
        String(400), comment="The browser's User-Agent, for the double opt-in proof."
    )
    evidence: Mapped[str | None] = mapped_column(
        Text, comment="Proof reference: scan id of a letter or fax, confirmation token hash."
    )
    recorded_by: Mapped[str] = mapped_column(
        String(120), comment='Who entered it: "staff:<id>", "apikey:<name>", "subject", ...'
    )
    at: Mapped[datetime] = mapped_column(UtcDateTime, comment="When it was said (UTC).")
