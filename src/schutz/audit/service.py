"""Appending to the audit log: one MAC-chained entry per state change, in the caller's transaction.

Verification lives in `verify.py`; `verify` and `describe` are importable from here too.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, NamedTuple, cast

from sqlalchemy import Connection, Table, bindparam, func, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from schutz.audit.chain import GENESIS, entry_mac
from schutz.audit.keys import audit_key_for
from schutz.audit.models import HEAD_ID, LANES, AuditEntry, AuditHead
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
"""`session.info` key: the lane this transaction holds and its head as the transaction left it."""
HEAD = cast(Table, AuditHead.__table__)
_LANE_LOCK = 0x5C4A_0D17
"""PostgreSQL advisory lock key: held by a transaction that creates a lane's head row."""

# PostgreSQL: move the first lane no other transaction holds on by one entry, and number the
# entry across lanes while the lane is held (so `seq` grows along every lane).
_CLAIM_FREE_LANE = text(
    "UPDATE audit_head SET seq = seq + 1 WHERE id = ("
    " SELECT id FROM audit_head WHERE id BETWEEN 1 AND :lanes"
    " ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)"
    " RETURNING id, seq, hash, nextval('audit_entry_seq') AS global_seq"
)
_CLAIM_HELD_LANE = text(
    "UPDATE audit_head SET seq = seq + 1 WHERE id = ("
    " SELECT id FROM audit_head WHERE id BETWEEN 1 AND :lanes ORDER BY id OFFSET :pick LIMIT 1)"
    " RETURNING id, seq, hash, nextval('audit_entry_seq') AS global_seq"
)
_NEXT_SEQ = text("SELECT nextval('audit_entry_seq')")


class _Claim(NamedTuple):
    lane: int
    lane_seq: int
    seq: int
    prev_hash: str


def _lane_tip(conn: Session | Connection, lane: int) -> tuple[int, str]:
    tip = conn.execute(
        select(AuditEntry.lane_seq, AuditEntry.hash)
        .where(AuditEntry.lane == lane)
        .order_by(AuditEntry.lane_seq.desc())
        .limit(1)
    ).first()
    return (tip.lane_seq, tip.hash) if tip is not None else (0, GENESIS)


def _create_head_sqlite(session: Session) -> None:
    """Create lane 1's head row, continuing from its newest entry if the row was lost."""
    seq, digest = _lane_tip(session, HEAD_ID)
    session.execute(
        sqlite.insert(HEAD)
        .values(id=HEAD_ID, seq=seq, hash=digest)
        .on_conflict_do_nothing(index_elements=["id"])
    )


# Built once: a statement object caches its own cache key, so running it again costs
# neither building nor hashing it (a tenth of an audited read went to that).
_BUMP_SQLITE = (
    update(HEAD)
    .where(HEAD.c.id == HEAD_ID)
    .values(seq=HEAD.c.seq + 1)
    .returning(HEAD.c.seq, HEAD.c.hash)
)


def _claim_sqlite(session: Session) -> _Claim:
    row = session.execute(_BUMP_SQLITE).first()
    if row is None:  # the first entry ever, or a head that was lost
        _create_head_sqlite(session)
        row = session.execute(_BUMP_SQLITE).one()
    return _Claim(HEAD_ID, row.seq, row.seq, row.hash)


def _open_lane(session: Session) -> None:
    """PostgreSQL: add a lane's head row in a short transaction of its own, committed at once.

    A head row records nothing (the entries do), so it need not wait for the caller's
    commit; created in the caller's transaction it would make every other writer that looks
    for a free lane wait for that commit. Creators take turns (an advisory lock); the lowest
    missing lane is added, continuing from its newest entry if its row was lost. The first
    creator after every head row is gone (a new or emptied log) restarts `seq` after the
    newest entry: with no head row, no other transaction can be appending.
    """
    bind = session.get_bind()
    engine = bind.engine if isinstance(bind, Connection) else bind
    with engine.begin() as conn:
        conn.execute(select(func.pg_advisory_xact_lock(_LANE_LOCK)))
        existing = set(conn.scalars(select(HEAD.c.id)))
        if not existing:
            conn.execute(
                text(
                    "SELECT setval('audit_entry_seq', coalesce(max(seq), 0) + 1, false)"
                    " FROM audit_entry"
                )
            )
        free = sorted(set(range(1, LANES + 1)) - existing)
        if not free:
            return
        seq, digest = _lane_tip(conn, free[0])
        conn.execute(
            postgresql.insert(HEAD)
            .values(id=free[0], seq=seq, hash=digest)
            .on_conflict_do_nothing(index_elements=["id"])
        )


def _claim_postgresql(session: Session) -> _Claim:
    row = session.execute(_CLAIM_FREE_LANE, {"lanes": LANES}).first()
    while row is None:  # every lane is held by another transaction (or none exists yet)
        lanes = session.scalar(select(func.count()).where(HEAD.c.id <= LANES)) or 0
        if lanes < LANES:  # add one (another writer may take it first: then try again)
            _open_lane(session)
            row = session.execute(_CLAIM_FREE_LANE, {"lanes": LANES}).first()
            continue
        # All lanes busy: wait for one of them, a different one for each connection.
        pick = (session.scalar(select(func.pg_backend_pid())) or 0) % lanes
        row = session.execute(_CLAIM_HELD_LANE, {"lanes": LANES, "pick": pick}).first()
    return _Claim(row.id, row.seq, row.global_seq, row.hash)


def _claim_seq(session: Session) -> _Claim:
    """Lane, positions and `prev_hash` for a new entry, with its lane locked for this transaction.

    The first entry of a transaction moves a lane's head on with one write,
    `UPDATE audit_head SET seq = seq + 1 ... RETURNING`. On SQLite that takes the database's
    single write lock before anything is read, so no other writer appends between our read
    and our insert, and a read transaction is never upgraded (which fails at once with
    SQLITE_BUSY_SNAPSHOT in WAL mode instead of waiting); there is one lane. On PostgreSQL
    it locks the first lane's row that no other transaction holds, so concurrent writers
    append to different lanes instead of queueing on one row. Later entries of the same
    transaction (or savepoint) still hold that lane, so they take the head this transaction
    left in `session.info` and need no statement to find it (PostgreSQL: one `nextval`).
    """
    transaction = session.get_nested_transaction() or session.get_transaction()
    cached = session.info.get(_HEAD_KEY)
    if cached is not None and transaction is not None and cached[0] is transaction:
        _, lane, lane_seq, seq, prev_hash = cached
        if session.get_bind().dialect.name == "postgresql":
            seq = session.scalar(_NEXT_SEQ)
        else:
            seq += 1
        return _Claim(lane, lane_seq + 1, seq, prev_hash)
    if session.get_bind().dialect.name == "postgresql":
        return _claim_postgresql(session)
    return _claim_sqlite(session)


ENTRIES = cast(Table, AuditEntry.__table__)
_ENTRY_COLUMNS = tuple(column.key for column in ENTRIES.columns)
_INSERT_ENTRY = insert(ENTRIES)
_MOVE_HEAD = (
    update(HEAD)
    .where(HEAD.c.id == bindparam("lane"))
    .values(seq=bindparam("seq"), hash=bindparam("hash"))
)


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
    claim = _claim_seq(session)
    prev_hash = claim.prev_hash
    entry = AuditEntry(
        seq=claim.seq,
        lane=claim.lane,
        lane_seq=claim.lane_seq,
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
    session.flush()  # what the caller added goes first, as it always did (cheap when clean)
    # The entry as one prebuilt INSERT, not through the unit of work: the ORM's flush of a
    # single new row cost a fifth of an audited read. The object stays transient: what the
    # caller gets back is the entry as written, and a query finds the row.
    session.execute(_INSERT_ENTRY, {c: getattr(entry, c) for c in _ENTRY_COLUMNS})
    session.execute(_MOVE_HEAD, {"lane": claim.lane, "seq": claim.lane_seq, "hash": entry.hash})
    transaction = session.get_nested_transaction() or session.get_transaction()
    session.info[_HEAD_KEY] = (transaction, claim.lane, claim.lane_seq, claim.seq, entry.hash)
    return entry


def recent_entries(
    session: Session, *, limit: int = 50, flagged_only: bool = False
) -> list[AuditEntry]:
    """The newest entries first, optionally only those flagged for the DPO's review."""
    query = select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(limit)
    if flagged_only:
        query = query.where(AuditEntry.flagged.is_(True))
    return list(session.scalars(query))


def count_flagged(session: Session) -> int:
    """How many entries are flagged for the DPO's review (C9), for the console's dashboard."""
    query = select(func.count()).select_from(AuditEntry).where(AuditEntry.flagged.is_(True))
    return int(session.scalar(query) or 0)
