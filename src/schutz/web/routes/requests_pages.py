"""Public request pages: the request form, the identity check a mail links to, the export.

Every form works without JavaScript and without cookies (C16): the form carries a signed,
timed token instead. Confirming is a button on the page the mail links to, so a mail
scanner that fetches links cannot confirm a request for anyone; the link confirms once, and
opened again it shows an "already used" page and no data. The export link (shown once after
confirming, and mailed) works for an hour. No page names the address.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Query
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from schutz.clock import utcnow
from schutz.errors import Conflict, InvalidInput, NotFound
from schutz.subject_requests import service
from schutz.subject_requests.export import build_package, exportable_request
from schutz.subject_requests.models import DataRequest, RequestKind, RequestStatus
from schutz.subject_requests.tokens import (
    EXPORT,
    EXPORT_MAX_AGE,
    VERIFY,
    VERIFY_MAX_AGE,
    TokenExpired,
)
from schutz.web.deps import (
    Desk,
    DeskDep,
    LinksDep,
    SessionDep,
    UnitOfWorkRoute,
)
from schutz.web.errors import Revert
from schutz.web.portable import portable_answer
from schutz.web.routes.requests_api import NO_STORE
from schutz.web.templating import render

router = APIRouter(prefix="/requests", include_in_schema=False, route_class=UnitOfWorkRoute)

FORM = "request"
KINDS = tuple(k.value for k in RequestKind)
DETAILS_MAX = 4000


def _page(request: Request, name: str, ctx: dict[str, Any], status: int = 200) -> HTMLResponse:
    response = render(request, f"requests/{name}", ctx, status_code=status)
    response.headers.update(NO_STORE)
    return response


def _form(
    request: Request,
    links: LinksDep,
    *,
    kind: str = "access",
    error: str | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    """The form; after a refusal, with what was typed and the error next to its field."""
    ctx = {
        "form_token": links.form_token(FORM),
        "kinds": KINDS,
        "kind": kind,
        "error": error,
        "values": values or {},
        "details_max": DETAILS_MAX,
    }
    return _page(request, "new.html", ctx, status)


def _link_error(request: Request, exc: InvalidInput | Conflict | NotFound) -> HTMLResponse:
    if isinstance(exc, TokenExpired):
        problem, status = "expired", 410
    elif isinstance(exc, service.LinkUsed):
        problem, status = "used", 409
    elif isinstance(exc, Conflict):
        problem, status = "closed", 409
    else:
        problem, status = "invalid", 400
    return _page(request, "link_error.html", {"problem": problem}, status)


@router.get("/new")
def request_form(request: Request, links: LinksDep, kind: str = "access") -> Response:
    return _form(request, links, kind=kind if kind in KINDS else "access")


@router.post("/new")
def submit_form(
    request: Request,
    desk: DeskDep,
    kind: Annotated[str, Form(max_length=20)] = "access",
    email: Annotated[str, Form()] = "",
    details: Annotated[str, Form()] = "",
    form_token: Annotated[str, Form(max_length=400)] = "",
) -> Response:
    kind = kind if kind in KINDS else "access"
    values = {"email": email, "details": details}
    try:
        desk.links.check_form_token(FORM, form_token)
    except InvalidInput:
        return _form(request, desk.links, kind=kind, error="expired", values=values, status=400)
    if len(details) > DETAILS_MAX:
        return _form(request, desk.links, kind=kind, error="details", values=values, status=422)
    try:
        service.submit(
            desk.session,
            desk.rules,
            desk.keyring,
            desk.links,
            kind=kind,
            email=email,
            channel="web",
            details=details,
            lang=desk.lang,
            actor="subject",
            now=utcnow(),
        )
    except InvalidInput:
        refused = _form(request, desk.links, kind=kind, error="email", values=values, status=422)
        raise Revert(refused) from None
    # The same page whether or not the address is known.
    return _page(request, "check_inbox.html", {})


@router.get("/verify")
def verify_page(
    request: Request, session: SessionDep, links: LinksDep, token: str = ""
) -> Response:
    try:
        found = service.get_request(
            session, links.request_of(VERIFY, token, max_age=VERIFY_MAX_AGE)
        )
    except (InvalidInput, NotFound) as exc:
        return _link_error(request, exc)
    if found.verified_at is not None:  # the link works once; it shows no data or link again
        return _link_error(request, service.LinkUsed("this link has been used already"))
    if found.status != RequestStatus.AWAITING_VERIFICATION.value:
        return _link_error(request, Conflict("this request is closed"))
    return _page(request, "verify.html", {"token": token, "kind": found.kind})


@router.post("/verify")
def verify(
    request: Request,
    desk: DeskDep,
    token: Annotated[str, Query(max_length=400)] = "",
) -> Response:
    try:
        found = service.verify_with_link(
            desk.session, desk.rules, desk.keyring, desk.links, token, now=utcnow()
        )
    except (InvalidInput, Conflict, NotFound) as exc:
        raise Revert(_link_error(request, exc)) from None
    return _result(request, desk.links, found)


def _result(request: Request, links: LinksDep, found: DataRequest) -> HTMLResponse:
    """The page right after confirming: the one moment a link to the data is shown."""
    export = None
    if found.outcome == "export_ready":
        export = links.export_token(found.id)
    return _page(request, "verified.html", {"req": found, "export_token": export})


def _package(desk: Desk, token: str) -> dict[str, Any]:
    request_id = desk.links.request_of(EXPORT, token, max_age=EXPORT_MAX_AGE)
    found = exportable_request(desk.session, request_id)
    return build_package(
        desk.session, desk.rules.policy, desk.keyring, found, lang=desk.lang, actor="subject",
        now=utcnow(),
    )  # fmt: skip


def package_file(package: dict[str, Any]) -> JSONResponse:
    """The access package as a JSON file to download (Art. 20 GDPR), never cached."""
    name = f"personal-data-{package['request_id']}.json"
    headers = {**NO_STORE, "Content-Disposition": f'attachment; filename="{name}"'}
    return JSONResponse(package, headers=headers)


@router.get("/export")
@router.get("/export.json")
@router.get("/export.csv")
def export(
    request: Request,
    desk: DeskDep,
    token: str = "",
) -> Response:
    """The readable copy (Art. 15(3) GDPR), with the JSON file beside it (Art. 20); for a
    portability request the data the subject gave, as a page, JSON and CSV."""
    try:
        request_id = desk.links.request_of(EXPORT, token, max_age=EXPORT_MAX_AGE)
        if service.get_request(desk.session, request_id).kind == RequestKind.PORTABILITY.value:
            return portable_answer(request, desk, request_id, token)
        if request.url.path.endswith(".csv"):
            raise Conflict("this request has no CSV file")
        package = _package(desk, token)
    except (InvalidInput, Conflict, NotFound) as exc:
        return _link_error(request, exc)
    if request.url.path.endswith(".json"):
        return package_file(package)
    json_url = f"/requests/export.json?token={quote(token)}&lang={desk.lang}"
    return _page(request, "export.html", {"p": package, "json_url": json_url})
