"""Recording the events retention periods start at: last contact, end of contract."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from schutz.audit import service as audit
from schutz.errors import InvalidInput, NotFound
from schutz.retention.models import SubjectEvent, SubjectEventType
from schutz.vault import service as vault


def record_subject_event(
    session: Session, subject_id: str, event_type: str, *, at: datetime | None, actor: str,
    now: datetime,
) -> SubjectEvent:  # fmt: skip
    """Note that `event_type` happened for the subject at `at` (default now); audited.

    A later event of the same type restarts the period; an earlier one changes nothing
    (the newest counts). A time in the future is refused: a period must not be started
    ahead of what happened. `NotFound` for an unknown or erased subject.
    """
    try:
        kind = SubjectEventType(event_type)
    except ValueError:
        allowed = ", ".join(t.value for t in SubjectEventType)
        raise InvalidInput(f"unknown event type {event_type!r}; use one of: {allowed}") from None
    if not vault.is_live(session, subject_id):
        raise NotFound("no such subject")
    when = (at or now).astimezone(UTC)
    if when > now:
        raise InvalidInput("the event's time lies in the future")
    row = SubjectEvent(
        subject_id=subject_id, type=kind.value, at=when, recorded_by=actor, recorded_at=now
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=f"retention.{kind.value}",
        subject_id=subject_id,
        details={"event_id": row.id, "at": when.isoformat()},
        now=now,
    )
    return row


def latest_events(session: Session, subject_ids: Iterable[str]) -> dict[tuple[str, str], datetime]:
    """`{(subject_id, type): newest time}` for the given subjects."""
    wanted = list(dict.fromkeys(subject_ids))
    found: dict[tuple[str, str], datetime] = {}
    for start in range(0, len(wanted), 500):
        rows = session.execute(
            select(SubjectEvent.subject_id, SubjectEvent.type, func.max(SubjectEvent.at))
            .where(SubjectEvent.subject_id.in_(wanted[start : start + 500]))
            .group_by(SubjectEvent.subject_id, SubjectEvent.type)
        )
        for subject_id, kind, at in rows:
            found[(subject_id, kind)] = at
    return found
