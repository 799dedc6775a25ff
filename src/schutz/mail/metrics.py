"""Counts of the outbox for operators' gauges: rows by kind and status."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from schutz.mail.models import OutboxMessage


def outbox_counts(session: Session) -> dict[tuple[str, str], int]:
    """`{(kind, status): rows}` for every kind and status the outbox holds."""
    rows = session.execute(
        select(OutboxMessage.kind, OutboxMessage.status, func.count()).group_by(
            OutboxMessage.kind, OutboxMessage.status
        )
    ).all()
    return {(kind, status): n for kind, status, n in rows}
