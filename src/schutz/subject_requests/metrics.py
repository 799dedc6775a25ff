"""Counts of data-subject requests for operators' gauges."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from schutz.subject_requests.models import OPEN_STATUSES, DataRequest


@dataclass(frozen=True)
class RequestCounts:
    open: int
    """Not yet completed, refused or expired."""
    overdue: int
    """Open and past their deadline (Art. 12(3) GDPR)."""


def request_counts(session: Session, *, now: datetime) -> RequestCounts:
    is_open = DataRequest.status.in_([s.value for s in OPEN_STATUSES])
    count = select(func.count()).select_from(DataRequest).where(is_open)
    n_open = session.scalar(count) or 0
    n_overdue = session.scalar(count.where(DataRequest.due_at < now)) or 0
    return RequestCounts(open=n_open, overdue=n_overdue)
