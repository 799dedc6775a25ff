"""Appending to the audit log and checking that nobody has changed, removed or moved entries."""

from __future__ import annotations

import hashlib
import json
import re
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from schutz.audit.models import AuditEntry, AuditHead

GENESIS = "0" * 64
HEAD_ID = 1
# A string that looks like an e-mail address is the most likely slip of personal data.
_EMAIL_LIKE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def entry_hash(
    *,
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    subject_id: str | None,
    purpose: str | None,
    details: dict[str, Any],
    flagged: bool,
    prev_hash: str,
) -> str:
    """SHA-256 (hex) over a canonical JSON array of the entry's fields and `prev_hash`."""
    canonical = json.dumps(
        [
            seq,
            at.astimezone(UTC).isoformat(timespec="microseconds"),
            actor,
            action,
            subject_id,
            purpose,
            details,
            flagged,
            prev_hash,
        ],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _check_no_email(value: Any) -> None:
    if isinstance(value, str):
        if "@" in value and _EMAIL_LIKE.search(value):  # the cheap test spares most regexes
            raise ValueError("audit details must not contain e-mail addresses")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_no_email(key)
            _check_no_email(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _check_no_email(item)


_HEAD_KEY = "schutz.audit.head"
"""`session.info` key: the head as this transaction left it, while it holds the lock."""
HEAD = cast(Table, AuditHead.__table__)


def _create_head(session: Session) -> None:
    """Create the head row, continuing from the newest entry if the row was lost."""
    tip = session.execute(
        select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)
    ).first()
    seq, digest = (tip.seq, tip.hash) if tip is not None else (0, GENESIS)
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(
        insert(HEAD)
        .values(id=HEAD_ID, seq=seq, hash=digest)
        .on_conflict_do_nothing(index_elements=["id"])
    )


def _claim_seq(session: Session) -> tuple[int, str]:
    """`(seq, prev_hash)` for a new entry, with the head locked for this transaction.

    The first entry of a transaction moves the head on with one write,
    `UPDATE audit_head SET seq = seq + 1 ... RETURNING seq, hash`. On SQLite that takes
    the database's single write lock before anything is read, so no other writer appends
    between our read and our insert, and a read transaction is never upgraded (which fails
    at once with SQLITE_BUSY_SNAPSHOT in WAL mode instead of waiting). On PostgreSQL it
    locks the row; a concurrent writer queues on it and, in READ COMMITTED, sees the head
    as the one before it left it. Later entries of the same transaction (or savepoint)
    still hold that lock, so they take the head this transaction left in `session.info`
    and need no statement to find it.
    """
    transaction = session.get_nested_transaction() or session.get_transaction()
    cached = session.info.get(_HEAD_KEY)
    if cached is not None and transaction is not None and cached[0] is transaction:
        return cached[1] + 1, cached[2]
    bump = (
        update(HEAD)
        .where(HEAD.c.id == HEAD_ID)
        .values(seq=HEAD.c.seq + 1)
        .returning(HEAD.c.seq, HEAD.c.hash)
    )
    row = session.execute(bump).first()
    if row is None:  # the first entry ever, or a head that was lost
        _create_head(session)
        row = session.execute(bump).one()
    return row.seq, row.hash


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    subject_id: str | None = None,
    purpose: str | None = None,
    details: dict[str, Any] | None = None,
    flagged: bool = False,
    now: datetime,
) -> AuditEntry:
    """Append one entry to the chain in the caller's transaction (flushed, not committed).

    Callers pass ids, category names, counts and reasons in `details`, never personal
    data: the log outlives erasure (Art. 17 GDPR) and must not undo it. Strings that look
    like e-mail addresses are refused as a last line of defence.
    """
    details = dict(details or {})
    _check_no_email(details)
    seq, prev_hash = _claim_seq(session)
    entry = AuditEntry(
        seq=seq,
        at=now.astimezone(UTC),
        actor=actor,
        action=action,
        subject_id=subject_id,
        purpose=purpose,
        details=details,
        flagged=flagged,
        prev_hash=prev_hash,
    )
    entry.hash = entry_hash(
        seq=seq,
        at=entry.at,
        actor=actor,
        action=action,
        subject_id=subject_id,
        purpose=purpose,
        details=details,
        flagged=flagged,
        prev_hash=prev_hash,
    )
    session.add(entry)
    session.flush()
    session.execute(update(HEAD).where(HEAD.c.id == HEAD_ID).values(seq=seq, hash=entry.hash))
    transaction = session.get_nested_transaction() or session.get_transaction()
    session.info[_HEAD_KEY] = (transaction, seq, entry.hash)
    return entry


@dataclass(frozen=True)
class VerifyResult:
    """The outcome of walking the chain; `first_bad_seq` and `problem` say where it broke."""

    ok: bool
    count: int
    first_bad_seq: int | None = None
    problem: str | None = None


def _first_problem(entry: AuditEntry, expected_seq: int, prev_hash: str) -> tuple[int, str] | None:
    if entry.seq != expected_seq:
        gap = f"entry is missing (the chain jumps from {expected_seq - 1} to {entry.seq})"
        return expected_seq, gap
    if entry.prev_hash != prev_hash:
        return entry.seq, "it does not follow the entry before it"
    computed = entry_hash(
        seq=entry.seq,
        at=entry.at,
        actor=entry.actor,
        action=entry.action,
        subject_id=entry.subject_id,
        purpose=entry.purpose,
        details=entry.details,
        flagged=entry.flagged,
        prev_hash=entry.prev_hash,
    )
    if computed != entry.hash:
        return entry.seq, "hash does not match its contents"
    return None


def verify(session: Session, *, batch_size: int = 1000) -> VerifyResult:
    """Walk the whole chain and report the first entry that was changed, removed or moved.

    A changed entry no longer matches its hash; a removed one leaves a gap in `seq` (or, at
    the end, a head that points past the last entry); a moved one breaks `prev_hash`.
    """
    count, prev_hash = 0, GENESIS
    query = select(AuditEntry).order_by(AuditEntry.seq).execution_options(yield_per=batch_size)
    # closing(): returning early must release PostgreSQL's server-side cursor at once.
    with closing(session.execute(query).scalars()) as rows:
        for entry in rows:
            found = _first_problem(entry, count + 1, prev_hash)
            if found is not None:
                return VerifyResult(False, count, *found)
            count += 1
            prev_hash = entry.hash
    head = session.execute(
        select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == HEAD_ID)
    ).first()
    if head is not None and head.seq > count:
        return VerifyResult(
            False, count, count + 1, f"entry is missing (the log should reach {head.seq})"
        )
    if head is not None and head.seq == count and count and head.hash != prev_hash:
        return VerifyResult(False, count, count, "it is not the entry the head points to")
    return VerifyResult(True, count)


def describe(result: VerifyResult) -> str:
    """One line for people: "intact, N entries" or "broken at entry N: ..."."""
    if result.ok:
        return f"intact, {result.count} entries"
    return f"broken at entry {result.first_bad_seq}: {result.problem}"


def recent_entries(
    session: Session, *, limit: int = 50, flagged_only: bool = False
) -> list[AuditEntry]:
    """The newest entries first, optionally only those flagged for the DPO's review."""
    query = select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(limit)
    if flagged_only:
        query = query.where(AuditEntry.flagged.is_(True))
    return list(session.scalars(query))
