"""Checking the chain: every entry's MAC and link, the head, and checkpoints kept elsewhere.

Without the audit key nobody can compute a MAC that verifies, so a changed, moved, removed
or rewritten-and-rehashed entry is caught. What the key cannot catch is entries cut off at
the end together with the head row put back to an older entry; a checkpoint (the head's seq
and MAC, written down outside the database) catches that: the chain must still hold that
entry with that MAC.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from contextlib import closing
from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from schutz.audit.chain import GENESIS, entry_mac, macs_equal
from schutz.audit.keys import AuditKey, audit_key_for
from schutz.audit.models import HEAD_ID, AuditEntry, AuditHead

UNKEYED = (
    "it carries no MAC under the audit key (written before the chain was keyed:"
    ' run "schutz audit rekey" once after upgrading)'
)
_CHECKPOINT = re.compile(r"(?:seq=)?(\d+)(?::|\s+mac=)([0-9a-fA-F]{64})")


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The head at one moment: an entry's seq and MAC, to be kept outside the database."""

    seq: int
    mac: str

    def __str__(self) -> str:
        return f"seq={self.seq} mac={self.mac}"

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """`SEQ:MAC`, or the line `schutz audit checkpoint` prints (`seq=SEQ mac=MAC`)."""
        found = _CHECKPOINT.fullmatch(text.strip())
        if found is None:
            raise ValueError(f"not a checkpoint (SEQ:MAC with a 64-digit hex MAC): {text!r}")
        point = cls(int(found[1]), found[2].lower())
        if point.seq == 0 and point.mac != GENESIS:
            raise ValueError("checkpoint 0 is the empty chain; its MAC is 64 zeros")
        return point


@dataclass(frozen=True)
class VerifyResult:
    """The outcome of walking the chain; `first_bad_seq` and `problem` say where it broke."""

    ok: bool
    count: int
    first_bad_seq: int | None = None
    problem: str | None = None


def entry_problem(key: AuditKey, entry: AuditEntry, prev_hash: str) -> str | None:
    """Why `entry` is not the genuine successor of the entry whose MAC is `prev_hash`."""
    if entry.prev_hash != prev_hash:
        return "it does not follow the entry before it"
    if entry.key_id is None:
        return UNKEYED
    if entry.key_id != key.key_id:
        return f"its MAC is under audit key {entry.key_id}, not the key in use ({key.key_id})"
    if not macs_equal(entry_mac(key, entry, prev_hash), entry.hash):
        return "its MAC does not match its contents"
    return None


def _walk(
    session: Session,
    key: AuditKey,
    points: dict[int, Checkpoint],
    *,
    upto: int | None,
    batch_size: int,
) -> tuple[VerifyResult | None, int, str]:
    count, prev_hash = 0, GENESIS
    # populate_existing: check what the database holds, not entries this session has loaded.
    query = (
        select(AuditEntry)
        .order_by(AuditEntry.seq)
        .execution_options(yield_per=batch_size, populate_existing=True)
    )
    if upto is not None:
        query = query.where(AuditEntry.seq <= upto)
    # closing(): returning early must release PostgreSQL's server-side cursor at once.
    with closing(session.execute(query).scalars()) as rows:
        for entry in rows:
            if entry.seq != count + 1:
                gap = f"entry is missing (the chain jumps from {count} to {entry.seq})"
                return VerifyResult(False, count, count + 1, gap), count, prev_hash
            problem = entry_problem(key, entry, prev_hash)
            point = points.get(entry.seq)
            if problem is None and point is not None and not macs_equal(point.mac, entry.hash):
                problem = f"it is not the entry that checkpoint {point} names"
            if problem is not None:
                return VerifyResult(False, count, entry.seq, problem), count, prev_hash
            count, prev_hash = entry.seq, entry.hash
    return None, count, prev_hash


class _Head(NamedTuple):
    seq: int
    hash: str


def _head(session: Session) -> _Head | None:
    """The head row, read before any entry: on PostgreSQL each statement sees the commits
    made before it, so entries are read only up to the head, and later appends never look
    like entries missing from the end."""
    row = session.execute(
        select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == HEAD_ID)
    ).first()
    return None if row is None else _Head(row.seq, row.hash)


def verify(
    session: Session,
    *,
    checkpoints: Iterable[Checkpoint] = (),
    key: AuditKey | None = None,
    batch_size: int = 1000,
) -> VerifyResult:
    """Walk the whole chain and report the first entry that was changed, removed or moved.

    A changed entry no longer matches its MAC; a removed one leaves a gap in `seq` (or, at
    the end, a head that points past the last entry); a moved one breaks `prev_hash`. Each
    checkpoint's entry must still be there with the MAC the checkpoint names.
    """
    key = key or audit_key_for(session)
    points = {point.seq: point for point in checkpoints if point.seq > 0}
    head = _head(session)
    upto = None if head is None else head.seq
    broken, count, prev_hash = _walk(session, key, points, upto=upto, batch_size=batch_size)
    if broken is not None:
        return broken
    if head is not None and head.seq > count:
        return VerifyResult(
            False, count, count + 1, f"entry is missing (the log should reach {head.seq})"
        )
    if head is not None and head.seq == count and count and head.hash != prev_hash:
        return VerifyResult(False, count, count, "it is not the entry the head points to")
    later = [point for point in points.values() if point.seq > count]
    if later:
        point = min(later, key=lambda p: p.seq)
        problem = f"entry is missing (the chain ends at {count}, before checkpoint {point})"
        return VerifyResult(False, count, count + 1, problem)
    return VerifyResult(True, count)


def describe(result: VerifyResult) -> str:
    """One line for people: "intact, N entries" or "broken at entry N: ..."."""
    if result.ok:
        return f"intact, {result.count} entries"
    return f"broken at entry {result.first_bad_seq}: {result.problem}"


def head_checkpoint(session: Session, *, key: AuditKey | None = None) -> Checkpoint | VerifyResult:
    """The newest entry as a checkpoint, or the problem that makes it unfit to anchor.

    Only the newest entry's MAC is checked (it covers the MAC before it, and so the whole
    chain up to here): a later `verify --checkpoint` proves the chain has kept this prefix.
    """
    key = key or audit_key_for(session)
    head = _head(session)
    query = select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)
    if head is not None:
        if head.seq == 0:
            return Checkpoint(0, GENESIS)
        query = select(AuditEntry).where(AuditEntry.seq == head.seq)
    newest = session.scalars(query.execution_options(populate_existing=True)).first()
    if newest is None and head is not None:
        return VerifyResult(False, 0, head.seq, "entry is missing (the head points to it)")
    if newest is None:
        return Checkpoint(0, GENESIS)
    problem = entry_problem(key, newest, newest.prev_hash)
    if problem is None and head is not None and head.hash != newest.hash:
        problem = "it is not the entry the head points to"
    if problem is not None:
        return VerifyResult(False, newest.seq - 1, newest.seq, problem)
    return Checkpoint(newest.seq, newest.hash)
