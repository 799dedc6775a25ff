"""The staff console's door: sign-in, sign-out, the dashboard, and the audit log page."""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Match

from schutz.audit.service import recent_entries, verify
from schutz.clock import utcnow
from schutz.errors import Unauthenticated
from schutz.identity.service import (
    Throttled,
    begin_sign_in,
    end_session,
    finish_sign_in,
    session_for_token,
    start_session,
)
from schutz.web.audit_text import describe
from schutz.web.auth import (
    SESSION_COOKIE,
    StaffContext,
    StaffDep,
    check_login_csrf,
    clear_login_csrf_cookie,
    clear_session_cookie,
    issue_login_csrf,
    require_staff,
    safe_next,
    set_login_csrf_cookie,
    set_session_cookie,
)
from schutz.web.client_ip import truncated_client_ip
from schutz.web.deps import SessionDep, SettingsDep, UnitOfWorkRoute, session_for, unit_of_work
from schutz.web.i18n import LANGUAGES
from schutz.web.password_gate import RETRY_AFTER, GateBusy, password_gate
from schutz.web.staff_dashboard import dashboard_for
from schutz.web.staff_sections import SECTIONS
from schutz.web.staff_view import names_for, staff_page
from schutz.web.templating import render

router = APIRouter(prefix="/staff", include_in_schema=False, route_class=UnitOfWorkRoute)


NO_STORE = {"Cache-Control": "no-store"}


def _login_page(
    request: Request,
    settings: SettingsDep,
    *,
    next_path: str,
    error: str | None,
    status: int,
    retry_after: int | None = None,
) -> Response:
    nonce, token = issue_login_csrf(request)
    response = render(
        request,
        "staff/login.html",
        {"csrf_token": token, "next": next_path, "error": error, "retry_after": retry_after},
        status_code=status,
    )
    set_login_csrf_cookie(response, nonce, settings)
    response.headers.update(NO_STORE)
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


@router.get("/login")
def login_form(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    next_path: Annotated[str, Query(alias="next")] = "",
) -> Response:
    if session_for_token(session, request.cookies.get(SESSION_COOKIE, ""), now=utcnow()):
        return RedirectResponse(safe_next(next_path), status_code=303)
    return _login_page(request, settings, next_path=safe_next(next_path), error=None, status=200)


def _sign_in(
    session: Session, email: str, password: str, network: str, replaces: str | None
) -> str:
    """In a worker thread: count the attempt, check the password, open a session.

    The count is committed before the (slow) check, so no database lock is held during it;
    a failure is committed too, with its audit entry. Returns the new session's token.
    """
    with unit_of_work(session):  # a throttled attempt counts nothing
        attempt = begin_sign_in(session, email, network=network, now=utcnow())
    matched = attempt.password_matches(password)
    with unit_of_work(session):  # a failure is kept, with its audit entry
        user = finish_sign_in(session, attempt, matched=matched, password=password, now=utcnow())
        _, token = start_session(session, user, now=utcnow(), replaces=replaces)
    return token


@router.post("/login")
async def login(
    request: Request,
    settings: SettingsDep,
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
    next_path: Annotated[str, Form(alias="next")] = "",
) -> Response:
    """Sign in. The password check waits for a turn at the gate (503 when none comes free),
    and runs in a worker thread; a throttled address and network get 429 without a check.

    The database session is taken only with a turn at the gate: sign-ins waiting for one
    hold no session, so a flood of them cannot starve the pages that need the database."""
    next_path = safe_next(next_path)
    page = partial(_login_page, request, settings, next_path=next_path)
    if not check_login_csrf(request, csrf_token):
        return page(error="expired", status=403)
    network = truncated_client_ip(request, settings) or "unknown"
    replaces = request.cookies.get(SESSION_COOKIE)
    try:
        async with password_gate(request).turn(), session_for(request.app) as session:
            token = await run_in_threadpool(_sign_in, session, email, password, network, replaces)
    except GateBusy:
        return page(error="busy", status=503, retry_after=RETRY_AFTER)
    except Throttled as exc:
        return page(error="throttled", status=429, retry_after=exc.retry_after)
    except Unauthenticated:
        return page(error="wrong", status=401)
    # Keep the language the sign-in page was shown in, when one was chosen.
    lang = request.query_params.get("lang", "")
    target = next_path
    if lang in LANGUAGES and "lang=" not in next_path:
        target += f"{'&' if '?' in next_path else '?'}lang={lang}"
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(response, token, settings)
    clear_login_csrf_cookie(response, settings)
    return response


@router.post("/logout")
def logout(
    request: Request, session: SessionDep, settings: SettingsDep, staff: StaffDep
) -> Response:
    end_session(session, request.cookies.get(SESSION_COOKIE, ""), now=utcnow())
    response = RedirectResponse("/staff/login", status_code=303)
    clear_session_cookie(response, settings)
    return response


def _has_page(request: Request, path: str) -> bool:
    """Whether some router of the app answers GET `path` (features add their pages later)."""
    scope = {"type": "http", "method": "GET", "path": path, "root_path": "", "path_params": {}}
    return any(route.matches(scope)[0] is Match.FULL for route in request.app.routes)


@router.get("/")
def dashboard(request: Request, session: SessionDep, staff: StaffDep) -> Response:
    """Counts of what needs attention, the overdue requests and failed deliveries by name,
    and every section the viewer's role may open."""
    sections = [
        {"path": path, "title": title, "text": text, "live": _has_page(request, path)}
        for path, title, text, roles in SECTIONS
        if staff.actor.role in roles
    ]
    board = dashboard_for(session, staff.actor.role, now=utcnow())
    ctx = {"staff": staff, "sections": sections, "board": board, "now": utcnow()}
    return staff_page(request, "staff/dashboard.html", ctx)


@router.get("/audit")
def audit_log(
    request: Request,
    session: SessionDep,
    staff: Annotated[StaffContext, Depends(require_staff("dpo", "admin"))],
    flagged: bool = False,
) -> Response:
    """The newest entries as sentences, with who did it by name; the chain checked."""
    result = verify(session)
    entries = recent_entries(session, limit=100, flagged_only=flagged)
    names = names_for(request, staff, session, (e.actor for e in entries))
    rows = [
        (e, describe(names, e.action, actor=e.actor, purpose=e.purpose, details=e.details))
        for e in entries
    ]
    ctx = {"staff": staff, "result": result, "rows": rows, "flagged": flagged}
    return staff_page(request, "staff/audit.html", ctx, names=names)
