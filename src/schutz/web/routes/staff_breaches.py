"""`/staff/breaches`: the breach register in the console (Art. 33/34 GDPR), for the DPO.

The register lists every breach with its 72-hour clock; a form records a new one (the
affected subjects are found by the query in `schutz.breaches.service`); a breach's page
shows the notification draft for the authority in English and German, notes the report,
and queues the Art. 34 mails. Each step is audited by the service.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Form
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from schutz.breaches import service
from schutz.breaches.clock import deadline, is_overdue, must_report
from schutz.breaches.draft import authority_draft
from schutz.breaches.models import Breach, Risk
from schutz.clock import utcnow
from schutz.errors import Conflict, InvalidInput
from schutz.policy.schema import Policy
from schutz.web.auth import StaffContext, require_staff
from schutz.web.deps import KeyringDep, LangDep, PolicyDep, SessionDep, UnitOfWorkRoute
from schutz.web.errors import Revert
from schutz.web.templating import render

router = APIRouter(prefix="/staff/breaches", include_in_schema=False, route_class=UnitOfWorkRoute)

Dpo = Annotated[StaffContext, Depends(require_staff("dpo", "admin"))]
NO_STORE = {"Cache-Control": "no-store"}
Text = Annotated[str, Form(max_length=4000)]
Short = Annotated[str, Form(max_length=200)]


def _page(request: Request, name: str, ctx: dict[str, object], status: int = 200) -> Response:
    response = render(request, f"staff/breaches/{name}", ctx, status_code=status)
    response.headers.update(NO_STORE)
    return response


def _clock(breach: Breach, now: datetime) -> dict[str, object]:
    return {
        "deadline": deadline(breach),
        "overdue": is_overdue(breach, now),
        "reportable": must_report(breach),
    }


def _index(
    request: Request, session: SessionDep, policy: Policy, staff: StaffContext,
    *, error: str | None = None, values: dict[str, object] | None = None, status: int = 200,
) -> Response:  # fmt: skip
    now = utcnow()
    rows = service.list_breaches(session)
    ctx: dict[str, object] = {
        "staff": staff,
        "policy": policy,
        "breaches": [(b, _clock(b, now)) for b in rows],
        "risks": [r.value for r in Risk],
        "error": error,
        "values": values or {"risk": "risk", "categories": [], "sources": []},
    }
    return _page(request, "index.html", ctx, status)


@router.get("")
def breaches_page(request: Request, session: SessionDep, policy: PolicyDep, staff: Dpo) -> Response:
    return _index(request, session, policy, staff)


def _moment(value: str) -> datetime | None:
    """A `datetime-local` field's value, read as UTC; empty means not given."""
    if not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput("a time is not in the form YYYY-MM-DDTHH:MM") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@router.post("")
def record(
    request: Request,
    session: SessionDep,
    policy: PolicyDep,
    staff: Dpo,
    lang: LangDep,
    title: Short = "",
    nature: Text = "",
    aware_at: Annotated[str, Form(max_length=40)] = "",
    occurred_from: Annotated[str, Form(max_length=40)] = "",
    occurred_until: Annotated[str, Form(max_length=40)] = "",
    categories: Annotated[list[str] | None, Form()] = None,
    sources: Annotated[list[str] | None, Form()] = None,
    risk: Annotated[str, Form(max_length=8)] = "",
    consequences: Text = "",
    measures: Text = "",
) -> Response:
    """Record a breach from the form; a mistake shows the form again (422), nothing kept."""
    values: dict[str, object] = {
        "title": title, "nature": nature, "aware_at": aware_at, "occurred_from": occurred_from,
        "occurred_until": occurred_until, "categories": categories or [],
        "sources": sources or [], "risk": risk, "consequences": consequences,
        "measures": measures,
    }  # fmt: skip
    now = utcnow()
    try:
        facts = service.BreachFacts(
            title=title, nature=nature, aware_at=_moment(aware_at) or now,
            categories=tuple(categories or ()), risk=risk, consequences=consequences,
            measures=measures, sources=tuple(sources or ()),
            occurred_from=_moment(occurred_from), occurred_until=_moment(occurred_until),
        )  # fmt: skip
        made = service.record_breach(session, policy, facts, actor=staff.actor.label, now=now)
    except InvalidInput as exc:
        page = _index(request, session, policy, staff, error=str(exc), values=values, status=422)
        raise Revert(page) from None
    return RedirectResponse(f"/staff/breaches/{made.id}?lang={lang}", status_code=303)


@router.get("/{breach_id}")
def breach_page(
    request: Request,
    session: SessionDep,
    policy: PolicyDep,
    staff: Dpo,
    breach_id: str,
    done: str | None = None,
    error: str | None = None,
) -> Response:
    """One breach: facts, clock, the authority draft in both languages, the next steps."""
    found = service.get_breach(session, breach_id)
    ctx: dict[str, object] = {
        "staff": staff,
        "policy": policy,
        "b": found,
        "clock": _clock(found, utcnow()),
        "draft_en": authority_draft(policy, found, "en"),
        "draft_de": authority_draft(policy, found, "de"),
        "done": done,
        "error": error,
    }
    return _page(request, "detail.html", ctx)


@router.post("/{breach_id}/report")
def report(
    session: SessionDep,
    staff: Dpo,
    lang: LangDep,
    breach_id: str,
    reference: Annotated[str, Form(max_length=80)] = "",
    delay_reason: Text = "",
) -> Response:
    """Note the authority's notification; after 72 hours only with the reasons for delay."""
    try:
        service.mark_reported(
            session, breach_id, reference=reference, delay_reason=delay_reason,
            actor=staff.actor.label, now=utcnow(),
        )  # fmt: skip
    except (InvalidInput, Conflict) as exc:
        problem = "delay" if isinstance(exc, InvalidInput) else "reported"
        target = f"/staff/breaches/{breach_id}?lang={lang}&error={problem}"
        raise Revert(RedirectResponse(target, status_code=303)) from None
    return RedirectResponse(f"/staff/breaches/{breach_id}?lang={lang}&done=reported", 303)


@router.post("/{breach_id}/notify")
def notify(
    session: SessionDep,
    policy: PolicyDep,
    keyring: KeyringDep,
    staff: Dpo,
    lang: LangDep,
    breach_id: str,
    mail_lang: Annotated[str, Form(max_length=2)] = "en",
) -> Response:
    """Queue the Art. 34 mails to the affected subjects not told yet."""
    service.notify_subjects(
        session, policy, keyring, breach_id, actor=staff.actor.label, now=utcnow(),
        lang=mail_lang if mail_lang in ("en", "de") else "en",
    )  # fmt: skip
    return RedirectResponse(f"/staff/breaches/{breach_id}?lang={lang}&done=notified", 303)
