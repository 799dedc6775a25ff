"""Analytics at the edge: the beacon, the opt-out page, the staff report and its JSON twin.

The client address is read from the socket, or from `X-Forwarded-For` only when the socket
peer is a proxy listed in `SCHUTZ_TRUSTED_PROXIES`, and is truncated on the spot
(`truncated_client_ip`): no full address is kept, logged or passed on (C23).
Nothing is stored under `DNT: 1`, `Sec-GPC: 1`, the opt-out cookie, or without analytics
consent (C24; TDDDG §25).
"""

from __future__ import annotations

import atexit
import json
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from schutz.analytics.charts import bar_chart, hbar_chart
from schutz.analytics.reports import Summary, summarise
from schutz.analytics.service import IngestBuffer, page_view
from schutz.analytics.sites import site_reports
from schutz.clock import utcnow
from schutz.cookies.choices import Choices, decode, is_visitor_id, new_visitor_id
from schutz.cookies.registry import CONSENT_COOKIE, OPTOUT_COOKIE, VISITOR_COOKIE
from schutz.cookies.undeclared import undeclared_rows
from schutz.errors import InvalidInput
from schutz.identity.actor import Actor
from schutz.web.auth import StaffContext, require_role, require_staff
from schutz.web.client_ip import truncated_client_ip
from schutz.web.cookie_guard import request_cookies
from schutz.web.cors import sites_of
from schutz.web.deps import PolicyDep, SessionDep, SettingsDep, UnitOfWorkRoute
from schutz.web.i18n import pick_language, translations
from schutz.web.plain_route import PlainRoute
from schutz.web.privacy_signals import opted_out
from schutz.web.routes import embed
from schutz.web.templating import render

router = APIRouter(route_class=UnitOfWorkRoute)

REPORT_ROLES = ("marketing", "dpo", "admin")
PERIODS = (7, 30, 90, 365)
MAX_BODY = 4096
NO_CONTENT = 204
HALF_WIDTH = 360  # charts shown two to a row


def visitor_choices(request: Request) -> Choices | None:
    """The visitor's cookie choices, from the guard if it ran, else from the cookie."""
    consent = getattr(request.state, "cookie_consent", None)
    if consent is not None:
        choices: Choices = consent.choices
        return choices
    return decode(request.cookies.get(CONSENT_COOKIE))


def analytics_allowed(request: Request) -> bool:
    """True when the visitor agreed to analytics and sent no opt-out of any kind."""
    if opted_out(request) or request_cookies(request).get(OPTOUT_COOKIE):
        return False
    choices = visitor_choices(request)
    return choices is not None and choices.allows("analytics")


def ingest_buffer(request: Request) -> IngestBuffer:
    """The process's page-view batch (created on first use, written on exit)."""
    state = request.app.state
    buffer: IngestBuffer | None = getattr(state, "analytics_buffer", None)
    if buffer is None:
        buffer = IngestBuffer(state.sessions)
        state.analytics_buffer = buffer
        atexit.register(buffer.close)
    return buffer


@router.post("/api/v1/collect", status_code=NO_CONTENT, tags=["analytics"])
async def collect(request: Request) -> Response:
    """Record one page view `{"path", "referrer"}`, or with `"site"` one page view or event
    from an embedding site; always 204, whether stored or not."""
    response = Response(status_code=NO_CONTENT)
    body = await request.body()
    if len(body) > MAX_BODY:
        return response
    try:
        data = json.loads(body)
    except ValueError:
        return response
    if not isinstance(data, dict):
        return response
    if "site" in data:  # from an embedding site's page (routes/embed.py)
        return await embed.collect_for_site(request, data, ingest_buffer(request))
    if not analytics_allowed(request):
        return response
    visitor = request_cookies(request).get(VISITOR_COOKIE)
    if not is_visitor_id(visitor):
        visitor = new_visitor_id()
        # The guard gives it the policy's lifetime; it leaves only because consent is given.
        response.set_cookie(VISITOR_COOKIE, visitor, httponly=True, samesite="lax")
    view = page_view(
        path=data.get("path"),
        referrer=data.get("referrer"),
        ip=truncated_client_ip(request, request.app.state.settings),
        visitor_id=visitor,
        now=utcnow(),
    )
    if view is not None:
        ingest_buffer(request).add(view)
    return response


# The beacon answers every page view of the shop: served by this plain Starlette route,
# matched before every router, it skips FastAPI's dependency and validation layers, which
# cost a third of its time (bench/results.md, "HTTP edge"). The FastAPI route above is the
# same function and stays for the OpenAPI document; this one shadows it.
BEACON = PlainRoute("/api/v1/collect", collect, methods=["POST"])


# --- opt-out (C24) -------------------------------------------------------------------------


@router.get("/analytics/opt-out", include_in_schema=False)
def opt_out_page(request: Request, saved: str | None = None) -> Response:
    return render(
        request,
        "analytics/opt_out.html",
        {
            "opted_out": bool(request.cookies.get(OPTOUT_COOKIE)),
            "signal": opted_out(request),
            "saved": saved in ("out", "in"),
        },
    )


@router.post("/analytics/opt-out", include_in_schema=False)
def opt_out(
    request: Request, settings: SettingsDep, action: Annotated[str, Form()] = "out"
) -> Response:
    """Set (or remove) the opt-out cookie; opting out also deletes the visitor id cookie."""
    lang = request.query_params.get("lang", "")
    suffix = f"&lang={lang}" if lang in ("en", "de") else ""
    done = "in" if action == "in" else "out"
    response = RedirectResponse(f"/analytics/opt-out?saved={done}{suffix}", status_code=303)
    if done == "out":
        response.set_cookie(
            OPTOUT_COOKIE, "1", httponly=True, samesite="lax", secure=settings.secure_cookies
        )
        response.delete_cookie(VISITOR_COOKIE)
    else:
        response.delete_cookie(OPTOUT_COOKIE)
    return response


# --- reports -------------------------------------------------------------------------------


def _period(days: int | None, start: date | None, end: date | None) -> tuple[date, date]:
    today = utcnow().date()
    end = end or today
    start = start or end - timedelta(days=(days or 30) - 1)
    if start > end:
        raise InvalidInput("start must not be after end")
    if (end - start).days > 731:
        raise InvalidInput("a report covers at most two years")
    return start, end


def _report(request: Request, session: SessionDep, start: date, end: date) -> Summary:
    buffer: IngestBuffer | None = getattr(request.app.state, "analytics_buffer", None)
    if buffer is not None:
        buffer.flush()
    summary = summarise(session, start, end, today=utcnow().date())
    return summary


@router.get("/api/v1/analytics/summary", tags=["analytics"])
def analytics_summary(
    request: Request,
    session: SessionDep,
    _actor: Annotated[Actor, Depends(require_role(*REPORT_ROLES))],
    days: Annotated[int | None, Query(ge=1, le=732)] = None,
    start: date | None = None,
    end: date | None = None,
) -> JSONResponse:
    """Page views, visits, visitors, returning visitors, frequency, top paths, referrers and
    hour of day for a period (default: the last 30 days). No personal data: first-party
    figures only (C25)."""
    first, last = _period(days, start, end)
    return JSONResponse(_report(request, session, first, last).as_json())


def charts(summary: Summary, titles: dict[str, str]) -> dict[str, str]:
    """The report's SVG charts, keyed by name."""
    daily = [(d["day"].strftime("%d.%m."), d["visits"]) for d in summary.daily]
    return {
        "daily": bar_chart(daily, title=titles["daily"], label_every=max(len(daily) // 10, 1)),
        "hours": bar_chart(
            [(f"{h['hour']:02d}", h["page_views"]) for h in summary.hours],
            title=titles["hours"],
            width=HALF_WIDTH,
            label_every=3,
        ),
        "frequency": bar_chart(
            [(f["visits"], f["visitors"]) for f in summary.frequency],
            title=titles["frequency"],
            width=HALF_WIDTH,
        ),
        "paths": hbar_chart(
            [(p["path"], p["page_views"]) for p in summary.top_paths], title=titles["paths"]
        ),
        "referrers": hbar_chart(
            [(r["referrer"], r["page_views"]) for r in summary.referrers],
            title=titles["referrers"],
        ),
    }


@router.get("/staff/analytics", include_in_schema=False)
def staff_analytics(
    request: Request,
    session: SessionDep,
    policy: PolicyDep,
    staff: Annotated[StaffContext, Depends(require_staff(*REPORT_ROLES))],
    days: Annotated[int, Query()] = 30,
) -> Response:
    days = days if days in PERIODS else 30
    first, last = _period(days, None, None)
    summary = _report(request, session, first, last)
    gettext = _translator(request)
    titles = {
        "daily": gettext("Visits per day"),
        "hours": gettext("Page views by hour of day (UTC)"),
        "frequency": gettext("Visitors by number of visits"),
        "paths": gettext("Top pages"),
        "referrers": gettext("Referrers"),
    }
    buffer: IngestBuffer | None = getattr(request.app.state, "analytics_buffer", None)
    return render(
        request,
        "staff/analytics/report.html",
        {
            "staff": staff,
            "summary": summary,
            "charts": charts(summary, titles),
            "titles": titles,
            "days": days,
            "periods": PERIODS,
            "policy": policy,
            "undeclared": undeclared_rows(session),
            "buffer": buffer.stats if buffer else None,
            "site_reports": site_reports(session, sites_of(request.app), first, last),
        },
    )


def _translator(request: Request) -> Any:
    return translations(pick_language(request)).gettext
