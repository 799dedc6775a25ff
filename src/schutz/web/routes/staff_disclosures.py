"""`/staff/disclosures`: processors' endpoints, recent disclosures, dead letters to send again."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from schutz.clock import utcnow
from schutz.disclosures import service
from schutz.disclosures.endpoints import list_endpoints
from schutz.disclosures.models import DisclosureStatus
from schutz.web.auth import StaffContext, require_staff
from schutz.web.deps import LangDep, PolicyDep, SessionDep, UnitOfWorkRoute
from schutz.web.staff_view import staff_page

router = APIRouter(
    prefix="/staff/disclosures", include_in_schema=False, route_class=UnitOfWorkRoute
)

Viewer = Annotated[StaffContext, Depends(require_staff("fulfilment", "dpo", "admin"))]


@router.get("")
def disclosures_page(
    request: Request,
    session: SessionDep,
    policy: PolicyDep,
    staff: Viewer,
    lang: LangDep,
    retried: str | None = None,
) -> Response:
    """What each processor is configured for, what went out lately, and what failed for good."""
    return staff_page(
        request,
        "staff/disclosures/index.html",
        {
            "staff": staff,
            "policy": policy,
            "endpoints": list_endpoints(session, policy),
            "counts": service.status_counts(session),
            "dead": service.recent_disclosures(
                session, limit=100, status=DisclosureStatus.DEAD.value
            ),
            "recent": service.recent_disclosures(session, limit=50),
            "retried": retried,
            "statuses": [s.value for s in DisclosureStatus],
        },
    )


@router.post("/{disclosure_id}/retry")
def retry(disclosure_id: str, session: SessionDep, staff: Viewer, lang: LangDep) -> Response:
    """Queue a dead delivery again (CSRF-checked by `require_staff`); same Idempotency-Key."""
    service.retry_disclosure(session, disclosure_id, actor=staff.actor.label, now=utcnow())
    return RedirectResponse(
        f"/staff/disclosures?lang={lang}&retried={disclosure_id}", status_code=303
    )
