"""The console's first page: what needs attention now, counted, for the viewer's role."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from schutz.audit.service import count_flagged
from schutz.disclosures import service as disclosures
from schutz.disclosures.models import DisclosureStatus
from schutz.subject_requests import service as requests
from schutz.subject_requests.models import OPEN_STATUSES
from schutz.web.staff_sections import SECTIONS

SHOWN = 5  # overdue requests and failed deliveries listed by name on the dashboard
COUNTED = 1000  # requests are counted up to this many per status ("1000+" beyond)


def may_open(role: str, path: str) -> bool:
    """Whether a member of `role` may open the console section at `path`."""
    return any(p == path and role in roles for p, _t, _x, roles in SECTIONS)


@dataclass
class Dashboard:
    """The counts and lists on the dashboard; None where the viewer's role may not see them."""

    open_requests: int | None = None
    overdue_requests: int | None = None
    failed_deliveries: int | None = None
    flagged_entries: int | None = None
    overdue: list[Any] = field(default_factory=list)
    failed: list[Any] = field(default_factory=list)


def dashboard_for(session: Session, role: str, *, now: datetime) -> Dashboard:
    board = Dashboard()
    if may_open(role, "/staff/requests"):
        board.open_requests = sum(
            len(requests.list_requests(session, status=s.value, now=now, limit=COUNTED))
            for s in OPEN_STATUSES
        )
        late = requests.list_requests(session, overdue=True, now=now, limit=COUNTED)
        board.overdue_requests = len(late)
        board.overdue = list(late[:SHOWN])
    if may_open(role, "/staff/disclosures"):
        board.failed_deliveries = disclosures.status_counts(session).get(
            DisclosureStatus.DEAD.value, 0
        )
        board.failed = list(
            disclosures.recent_disclosures(session, limit=SHOWN, status=DisclosureStatus.DEAD.value)
        )
    if may_open(role, "/staff/audit"):
        board.flagged_entries = count_flagged(session)
    return board
