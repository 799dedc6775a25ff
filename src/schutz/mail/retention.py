"""What leaves the outbox when its time is up: finished rows, an erased subject's mail, and
the .eml files of rows that are gone.

Outbox rows and .eml files hold addresses and messages; keeping them past their use breaks
storage limitation (Art. 5(1)(e) GDPR), and keeping them past an erasure breaks Art. 17.
An .eml file is named after its outbox row (`<id>.eml`), so the rows say which files may
stay: a file whose row has gone is removed by `remove_orphaned_files`. This module reads the
outbox table only, so the vault can call it from an erasure without an import cycle.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import and_, delete, literal_column, or_, select
from sqlalchemy.orm import Session

from schutz.mail.models import OutboxKind, OutboxMessage, OutboxStatus

DEFAULT_KEEP = timedelta(days=7)
"""How long a finished mail to a subject stays, for support to see whether it went out."""

_FINISHED = (OutboxStatus.SENT.value, OutboxStatus.DEAD.value)


def purge_finished(session: Session, *, older_than: timedelta, now: datetime) -> int:
    """Delete finished (sent or dead) rows; return how many.

    A row about a subject goes once it was created before `now - older_than`. A row tied
    to no subject (sealed under a key of its own: mail to an unknown requester, the
    confirmation of an erasure, the `erasure.approved` event to the operator's systems) goes
    at once, of any kind: no erasure could ever reach it, so it must not outlive its
    delivery. Its key lives in the row, so deleting the row shreds it.
    """
    subject_of = OutboxMessage.payload["subject_id"].as_string()
    own_key = OutboxMessage.payload["key"].as_string()
    result = session.execute(
        delete(OutboxMessage)
        .where(
            OutboxMessage.status.in_(_FINISHED),
            or_(
                OutboxMessage.created_at < now - older_than,
                and_(OutboxMessage.kind == OutboxKind.EMAIL.value, subject_of.is_(None)),
                own_key.is_not(None),
            ),
        )
        .execution_options(synchronize_session=False)
    )
    session.flush()
    return int(getattr(result, "rowcount", 0) or 0)


def forget_subject(session: Session, subject_id: str) -> int:
    """Delete every outbox row sealed for `subject_id`, queued or finished, of any kind:
    mail, and the events to the operator's systems that carry the address (Art. 17 GDPR).

    Called by the vault's erasure in its transaction; the rows' .eml files follow with the
    next `remove_orphaned_files` (the worker's pass or `schutz retention run`). The
    `erasure.approved` event is sealed under a key of its own, names no subject here, and
    still leaves.
    """
    if session.get_bind().dialect.name == "postgresql":
        # The key as a literal, so that the expression is the index's (`ix_outbox_subject`).
        owner = OutboxMessage.payload.op("->>")(literal_column("'subject_id'"))
    else:
        owner = OutboxMessage.payload["subject_id"].as_string()
    result = session.execute(
        delete(OutboxMessage)
        .where(owner == subject_id)
        .execution_options(synchronize_session=False)
    )
    session.flush()
    return int(getattr(result, "rowcount", 0) or 0)


def remove_orphaned_files(session: Session, directory: Path) -> int:
    """Delete the .eml files (and left-over partial writes) whose outbox row is gone.

    The folder is listed before the rows are read: a row is always written before its
    file, so a file listed here whose row is missing was purged or erased, never new.
    """
    if not directory.is_dir():
        return 0
    files = [p for p in directory.iterdir() if p.is_file() and p.name.endswith((".eml", ".part"))]
    if not files:
        return 0
    ids = sorted({_row_id(p) for p in files})
    kept: set[str] = set()
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        kept.update(session.scalars(select(OutboxMessage.id).where(OutboxMessage.id.in_(chunk))))
    removed = 0
    for path in files:
        if _row_id(path) not in kept:
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def _row_id(path: Path) -> str:
    """`<id>.eml` or `.<id>.eml.part` (a write cut short) -> `<id>`."""
    return path.name.lstrip(".").split(".", 1)[0]
