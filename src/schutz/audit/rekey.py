"""Upgrading a chain written before it was keyed: MAC the old entries once under the audit key.

Before migration 0008 each entry carried a plain SHA-256, which anyone with the database
could recompute. `schutz audit rekey` checks those entries the old way (contents, links,
no gaps), then replaces every MAC from the first old entry to the end of the chain (each
MAC covers the one before, so the keyed entries after it change too), in one transaction
under the head's lock. Afterwards `verify` accepts no unkeyed entry at all, so nobody can
turn keyed entries back into recomputable ones. The old entries are only as trustworthy as
they were on the day of the rekey: run it right after upgrading.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Table, func, select, update
from sqlalchemy.orm import Session

from schutz.audit.chain import GENESIS, entry_mac, legacy_hash, macs_equal
from schutz.audit.keys import AuditKey, audit_key_for
from schutz.audit.models import HEAD_ID, AuditEntry, AuditHead
from schutz.audit.service import record
from schutz.audit.verify import VerifyResult, entry_problem

HEAD = cast(Table, AuditHead.__table__)


@dataclass(frozen=True, slots=True)
class Rekeyed:
    """How many entries now carry a MAC under the audit key that carried none or another."""

    count: int


def _old_problem(key: AuditKey, entry: AuditEntry, prev_hash: str, keyed_seen: bool) -> str | None:
    """Why `entry` fails the check of the chain as it was written (before the rekey)."""
    if entry.key_id is not None:
        return entry_problem(key, entry, prev_hash)
    if keyed_seen:  # unkeyed entries were all written before the first keyed one
        return "it carries no MAC although keyed entries come before it"
    if entry.prev_hash != prev_hash:
        return "it does not follow the entry before it"
    if not macs_equal(legacy_hash(entry, prev_hash), entry.hash):
        return "hash does not match its contents"
    return None


def rekey(
    session: Session, *, actor: str, now: datetime, batch_size: int = 1000
) -> Rekeyed | VerifyResult:
    """MAC every entry from the first unkeyed one on; the problem instead if the chain is broken.

    Flushes, never commits; on success it records `audit.rekey` in the same transaction.
    """
    key = audit_key_for(session)
    # Lock the head first: no writer appends while the MACs it would chain onto change.
    session.execute(update(HEAD).where(HEAD.c.id == HEAD_ID).values(seq=HEAD.c.seq))
    # Unkeyed entries predate the lanes (0013): they are all in lane 1, which is rewritten
    # from the first of them on; the other lanes chain only keyed entries of their own.
    in_lane = AuditEntry.lane == HEAD_ID
    first = session.scalar(
        select(func.min(AuditEntry.lane_seq)).where(in_lane, AuditEntry.key_id.is_(None))
    )
    if first is None:
        return Rekeyed(0)
    old_prev = new_prev = GENESIS
    count = rewritten = 0
    keyed_seen = False
    while True:
        batch = session.scalars(
            select(AuditEntry)
            .where(in_lane, AuditEntry.lane_seq > count)
            .order_by(AuditEntry.lane_seq)
            .limit(batch_size)
            .execution_options(populate_existing=True)
        ).all()
        if not batch:
            break
        for entry in batch:
            if entry.lane_seq != count + 1:
                gap = f"entry is missing (the chain jumps from {count} to {entry.lane_seq})"
                return VerifyResult(False, count, count + 1, gap)
            problem = _old_problem(key, entry, old_prev, keyed_seen)
            if problem is not None:
                return VerifyResult(False, count, entry.seq, problem)
            keyed_seen = keyed_seen or entry.key_id is not None
            old_prev, count = entry.hash, entry.lane_seq
            if entry.lane_seq >= first:
                entry.prev_hash, entry.key_id = new_prev, key.key_id
                entry.hash = entry_mac(key, entry, new_prev)
                rewritten += 1
            new_prev = entry.hash
        session.flush()
        for entry in batch:
            session.expunge(entry)
    head = session.scalar(select(AuditHead.seq).where(AuditHead.id == HEAD_ID))
    if head is not None and head > count:
        return VerifyResult(
            False, count, count + 1, f"entry is missing (the log should reach {head})"
        )
    session.execute(update(HEAD).where(HEAD.c.id == HEAD_ID).values(hash=new_prev))
    record(session, actor=actor, action="audit.rekey", details={"entries": rewritten}, now=now)
    return Rekeyed(rewritten)
