"""Appending to the audit log: one MAC-chained entry per state change, in the caller's transaction.

Verification lives in `verify.py`; `verify` and `describe` are importable from here too.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from schutz.audit.chain import GENESIS, entry_mac
from schutz.audit.keys import audit_key_for
from schutz.audit.models import HEAD_ID, AuditEntry, AuditHead
from schutz.audit.verify import VerifyResult, describe, verify

__all__ = ["GENESIS", "VerifyResult", "describe", "recent_entries", "record", "verify"]

# A string that looks like an e-mail address is the most likely slip of personal data.
_EMAIL_LIKE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


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

    The entry's `hash` is a MAC under the audit key bound to the session's engine
    (`keys.py`). Callers pass ids, category names, counts and reasons in `details`, never
    personal data: the log outlives erasure (Art. 17 GDPR) and must not undo it. Strings that look
    like e-mail addresses are refused as a last line of defence.
    """
    details = dict(details or {})
    _check_no_email(details)
    key = audit_key_for(session)  # before the head is locked: it may read the key file
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
        key_id=key.key_id,
    )
    entry.hash = entry_mac(key, entry, prev_hash)
    session.add(entry)
    session.flush()
    session.execute(update(HEAD).where(HEAD.c.id == HEAD_ID).values(seq=seq, hash=entry.hash))
    transaction = session.get_nested_transaction() or session.get_transaction()
    session.info[_HEAD_KEY] = (transaction, seq, entry.hash)
    return entry


def recent_entries(
    session: Session, *, limit: int = 50, flagged_only: bool = False
) -> list[AuditEntry]:
    """The newest entries first, optionally only those flagged for the DPO's review."""
    query = select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(limit)
    if flagged_only:
        query = query.where(AuditEntry.flagged.is_(True))
    return list(session.scalars(query))
