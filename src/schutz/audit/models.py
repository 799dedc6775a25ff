"""Tables of the audit log: the MAC-chained entries and the heads of the chain's lanes.

The chain is split into lanes so that writers do not all queue behind one row: each lane is
a MAC chain of its own (`prev_hash` links an entry to the one before it in its lane), and
`seq` orders all entries across lanes. A transaction appends to one lane, whose head row it
holds locked until it commits; on PostgreSQL it takes the first lane no one else holds
(`FOR UPDATE SKIP LOCKED`), so up to `LANES` transactions append at once. SQLite has one
writer at a time anyway and only ever uses lane 1, where `seq` equals `lane_seq`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Integer, Sequence, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from schutz.db import Base, UtcDateTime

HEAD_ID = 1
"""The id of the first lane's `audit_head` row (the only lane before 0013, and on SQLite)."""
LANES = 16
"""At most this many lanes, so at most this many transactions append at once (PostgreSQL)."""
SEQ = Sequence("audit_entry_seq", metadata=Base.metadata)
"""PostgreSQL: hands out `seq` without a lock shared by the lanes (numbers of rolled-back
appends are skipped, so `seq` may have gaps there; `lane_seq` never has)."""


class AuditEntry(Base):
    """One thing that happened. Append-only; `hash` is a MAC that chains it to the entry before.

    `details` holds ids, category names, counts and reasons only, never personal data
    (no e-mail addresses, names, postal addresses or free text a person typed).
    """

    __tablename__ = "audit_entry"
    __table_args__ = (UniqueConstraint("lane", "lane_seq"),)

    seq: Mapped[int] = mapped_column(
        BigInteger,
        primary_key=True,
        autoincrement=False,
        comment="Position in the log across lanes, from 1 (gaps on PostgreSQL after rollbacks).",
    )
    # Rows written without a lane (scripts, older tools) belong to lane 1, where lane_seq = seq.
    lane: Mapped[int] = mapped_column(
        Integer, default=HEAD_ID, comment="The lane (chain segment) it belongs to."
    )
    lane_seq: Mapped[int] = mapped_column(
        BigInteger,
        default=lambda context: context.get_current_parameters()["seq"],
        comment="Position in its lane, from 1, without gaps.",
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
    """The tip of one lane in one row (`id` is the lane); writers lock it so no lane forks.

    It also remembers the lane's last entry, so removing entries from the end is detected.
    """

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(
        Integer, primary_key=True, autoincrement=False, comment="The lane, from 1."
    )
    seq: Mapped[int] = mapped_column(
        BigInteger, comment="lane_seq of the lane's newest entry (0: none)."
    )
    hash: Mapped[str] = mapped_column(String(64), comment="MAC of the lane's newest entry.")
