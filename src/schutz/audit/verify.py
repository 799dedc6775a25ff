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

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from schutz.audit.chain import GENESIS, entry_mac, macs_equal
from schutz.audit.keys import AuditKey, audit_key_for
from schutz.audit.models import AuditEntry, AuditHead

UNKEYED = (
    "it carries no MAC under the audit key (written before the chain was keyed:"
    ' run "schutz audit rekey" once after upgrading)'
)
_ONE = r"(?:seq=)?(\d+)(?::|\s+mac=)([0-9a-fA-F]{64})"
_CHECKPOINT = re.compile(rf"{_ONE}(?:[\s,]+{_ONE})*")
_PAIR = re.compile(_ONE)


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The head at one moment, to be kept outside the database: the newest entry's seq and
    MAC, and in `more` those of the other lanes' newest entries (each MAC covers its lane's
    entries before it, so together they pin every lane)."""

    seq: int
    mac: str
    more: tuple[tuple[int, str], ...] = ()

    def __str__(self) -> str:
        return " ".join(f"seq={seq} mac={mac}" for seq, mac in self.pairs())

    def pairs(self) -> tuple[tuple[int, str], ...]:
        return ((self.seq, self.mac), *self.more)

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """`SEQ:MAC`, or the line `schutz audit checkpoint` prints (`seq=SEQ mac=MAC ...`)."""
        text = text.strip()
        if _CHECKPOINT.fullmatch(text) is None:
            raise ValueError(f"not a checkpoint (SEQ:MAC with a 64-digit hex MAC): {text!r}")
        pairs = [(int(found[1]), found[2].lower()) for found in _PAIR.finditer(text)]
        for seq, mac in pairs:
            if seq == 0 and mac != GENESIS:
                raise ValueError("checkpoint 0 is the empty chain; its MAC is 64 zeros")
        (seq, mac), *more = pairs
        return cls(seq, mac, tuple(more))


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


class _Lane:
    """How far the walk has followed one lane."""

    __slots__ = ("count", "last_seq", "prev_hash", "upto")

    def __init__(self, upto: int | None) -> None:
        self.count, self.last_seq, self.prev_hash, self.upto = 0, 0, GENESIS, upto


def _lane_problem(key: AuditKey, lane: _Lane, entry: AuditEntry) -> tuple[int, str] | None:
    """`(seq to name, problem)` if `entry` is not the next entry of its lane."""
    if (
        entry.lane_seq != lane.count + 1
        and entry.lane_seq > lane.count
        and (entry.seq > lane.last_seq + 1)
    ):
        jump = f"lane {entry.lane} jumps from entry {lane.count} to {entry.lane_seq}"
        return lane.last_seq + 1, f"entry is missing ({jump})"
    problem = entry_problem(key, entry, lane.prev_hash)
    if problem is None and entry.lane_seq != lane.count + 1:
        problem = f"it is out of place in lane {entry.lane}"
    return None if problem is None else (entry.seq, problem)


def _walk(
    session: Session,
    key: AuditKey,
    points: dict[int, str],
    heads: dict[int, _Head],
    *,
    batch_size: int,
) -> tuple[VerifyResult | None, dict[int, _Lane], int, set[int]]:
    lanes = {lane: _Lane(head.seq) for lane, head in heads.items()}
    count = 0
    seen: set[int] = set()
    # populate_existing: check what the database holds, not entries this session has loaded.
    query = (
        select(AuditEntry)
        .order_by(AuditEntry.seq)
        .execution_options(yield_per=batch_size, populate_existing=True)
    )
    # closing(): returning early must release PostgreSQL's server-side cursor at once.
    with closing(session.execute(query).scalars()) as rows:
        for entry in rows:
            lane = lanes.get(entry.lane)
            if lane is None:  # a lane whose head row is gone: follow it to its end
                lane = lanes[entry.lane] = _Lane(None)
            if lane.upto is not None and entry.lane_seq > lane.upto:
                continue  # appended after the heads were read
            found = _lane_problem(key, lane, entry)
            mac = points.get(entry.seq)
            if found is None and mac is not None and not macs_equal(mac, entry.hash):
                found = (
                    entry.seq,
                    f"it is not the entry that checkpoint {_point(entry.seq, mac)} names",
                )
            if found is not None:
                return VerifyResult(False, count, found[0], found[1]), lanes, count, seen
            lane.count, lane.last_seq, lane.prev_hash = entry.lane_seq, entry.seq, entry.hash
            count += 1
            if mac is not None:
                seen.add(entry.seq)
    return None, lanes, count, seen


def _point(seq: int, mac: str) -> str:
    return str(Checkpoint(seq, mac))


class _Head(NamedTuple):
    seq: int
    hash: str


def _heads(session: Session) -> dict[int, _Head]:
    """The head of every lane, read before any entry: on PostgreSQL each statement sees the
    commits made before it, so entries are read only up to their lane's head, and later
    appends never look like entries missing from the end."""
    rows = session.execute(select(AuditHead.id, AuditHead.seq, AuditHead.hash))
    return {row.id: _Head(row.seq, row.hash) for row in rows}


def verify(
    session: Session,
    *,
    checkpoints: Iterable[Checkpoint] = (),
    key: AuditKey | None = None,
    batch_size: int = 1000,
) -> VerifyResult:
    """Walk the whole log and report the first entry that was changed, removed or moved.

    A changed entry no longer matches its MAC; a removed one leaves a gap in its lane's
    `lane_seq` (or, at the end, a lane head that points past the lane's last entry); a moved
    one breaks `prev_hash`. Each checkpoint's entries must still be there with the MACs the
    checkpoint names.
    """
    key = key or audit_key_for(session)
    points = {seq: mac for point in checkpoints for seq, mac in point.pairs() if seq > 0}
    heads = _heads(session)
    broken, lanes, count, seen = _walk(session, key, points, heads, batch_size=batch_size)
    if broken is not None:
        return broken
    for number, head in sorted(heads.items()):
        lane = lanes[number]
        if head.seq > lane.count:
            return VerifyResult(
                False,
                count,
                lane.last_seq + 1,
                f"entry is missing (lane {number} should reach entry {head.seq})",
            )
        if head.seq == lane.count and lane.count and head.hash != lane.prev_hash:
            return VerifyResult(
                False, count, lane.last_seq, "it is not the entry the head points to"
            )
    missing = sorted(seq for seq in points if seq not in seen)
    if missing:
        seq = missing[0]
        last = max((lane.last_seq for lane in lanes.values()), default=0)
        point = _point(seq, points[seq])
        if seq > last:
            problem = f"entry is missing (the chain ends at {last}, before checkpoint {point})"
            return VerifyResult(False, count, last + 1, problem)
        return VerifyResult(False, count, seq, f"entry is missing (checkpoint {point} names it)")
    return VerifyResult(True, count)


def describe(result: VerifyResult) -> str:
    """One line for people: "intact, N entries" or "broken at entry N: ..."."""
    if result.ok:
        return f"intact, {result.count} entries"
    return f"broken at entry {result.first_bad_seq}: {result.problem}"


def head_checkpoint(session: Session, *, key: AuditKey | None = None) -> Checkpoint | VerifyResult:
    """The newest entry of every lane as a checkpoint, or the problem that makes it unfit.

    Only each lane's newest entry's MAC is checked (it covers the MAC before it, and so its
    lane up to here): a later `verify --checkpoint` proves the log has kept these prefixes.
    """
    key = key or audit_key_for(session)
    heads = _heads(session)
    if not heads:  # no head row: the newest entry of each lane that has entries
        tips = select(AuditEntry.lane, func.max(AuditEntry.lane_seq).label("n")).group_by(
            AuditEntry.lane
        )
        heads = {row.lane: _Head(row.n, "") for row in session.execute(tips)}
    pairs: list[tuple[int, str]] = []
    for number, head in sorted(heads.items()):
        if head.seq == 0:
            continue
        newest = session.scalars(
            select(AuditEntry)
            .where(AuditEntry.lane == number, AuditEntry.lane_seq == head.seq)
            .execution_options(populate_existing=True)
        ).first()
        if newest is None:
            before = session.scalar(
                select(func.max(AuditEntry.seq)).where(
                    AuditEntry.lane == number, AuditEntry.lane_seq < head.seq
                )
            )
            return VerifyResult(
                False, 0, (before or 0) + 1, "entry is missing (the head points to it)"
            )
        problem = entry_problem(key, newest, newest.prev_hash)
        if problem is None and head.hash and head.hash != newest.hash:
            problem = "it is not the entry the head points to"
        if problem is not None:
            return VerifyResult(False, 0, newest.seq, problem)
        pairs.append((newest.seq, newest.hash))
    if not pairs:
        return Checkpoint(0, GENESIS)
    (seq, mac), *more = sorted(pairs, reverse=True)
    return Checkpoint(seq, mac, tuple(more))
