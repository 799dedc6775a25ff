"""Tables of the audit log: the MAC-chained entries and the one-row head of the chain."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from schutz.db import Base, UtcDateTime

HEAD_ID = 1
"""The id of the one `audit_head` row."""


class AuditEntry(Base):
    """One thing that happened. Append-only; `hash` is a MAC that chains it to the entry before.

    `details` holds ids, category names, counts and reasons only, never personal data
    (no e-mail addresses, names, postal addresses or free text a person typed).
    """

    __tablename__ = "audit_entry"

    seq: Mapped[int] = mapped_column(
        BigInteger,
        primary_key=True,
        autoincrement=False,
        comment="Position in the chain, from 1, without gaps.",
    )
    at: Mapped[datetime] = mapped_column(UtcDateTime, comment="When it happened (UTC).")
    actor: Mapped[str] = mapped_column(
        String(120), comment='Who did it: "apikey:shop-1", "staff:<id>", "cli", "system".'
    )
    action: Mapped[str] = mapped_column(
        String(80), index=True, comment='What happened, dotted: "staff.login", "consent.grant".'
    )
    subject_id: Mapped[str | None] = mapped_column(
        String(64), index=True, comment="The data subject concerned, by opaque id, if any."
    )
    purpose: Mapped[str | None] = mapped_column(
        String(64), comment="The purpose the action served, if any."
    )
    details: Mapped[dict[str, Any]] = mapped_column(
        JSON, comment="Ids, category names and reasons; never personal data."
    )
    flagged: Mapped[bool] = mapped_column(
        Boolean, comment="Set for exception purposes (C9) so the DPO reviews them."
    )
    prev_hash: Mapped[str] = mapped_column(
        String(64), comment="MAC of the entry before (64 zeros for the first)."
    )
    hash: Mapped[str] = mapped_column(
        String(64),
        comment="HMAC-SHA256 under the audit key of this entry's canonical JSON and prev_hash.",
    )
    key_id: Mapped[str | None] = mapped_column(
        String(16),
        comment="Id of the audit key of `hash`; NULL: unkeyed SHA-256 from before 0008.",
    )


class AuditHead(Base):
    """The tip of the chain in one row; writers lock it so the chain never forks.

    It also remembers the last entry, so removing entries from the end is detected.
    """

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(
        Integer, primary_key=True, autoincrement=False, comment="Always 1."
    )
    seq: Mapped[int] = mapped_column(BigInteger, comment="Seq of the newest entry (0: none).")
    hash: Mapped[str] = mapped_column(String(64), comment="MAC of the newest entry.")
