"""The privacy centre (`/account`): see your data, switch consents, make requests (C11, C19).

No passwords: a one-time link mailed to an address the vault holds opens a server-side
session, kept in the cookie `schutz_account` (random, HttpOnly, SameSite=Lax, session-only,
path /account). Forms carry the session's CSRF token and work without JavaScript.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Query
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from schutz.clock import utcnow
from schutz.errors import Conflict, Denied, InvalidInput, NotFound
from schutz.subject_requests import account, holdings, overview, self_service, service
from schutz.subject_requests.export import build_package, exportable_request
from schutz.subject_requests.models import DataRequest
from schutz.subject_requests.self_service import EDITABLE, REQUESTABLE, SUBJECT
from schutz.web.auth import clear_session_cookie, set_session_cookie
from schutz.web.deps import (
    Desk,
    DeskDep,
    FormDep,
    KeyringDep,
    LangDep,
    RulesDep,
    SessionDep,
    SettingsDep,
    UnitOfWorkRoute,
)
from schutz.web.errors import Revert
from schutz.web.i18n import N_, translations
from schutz.web.routes.requests_api import NO_STORE
from schutz.web.routes.requests_pages import package_file
from schutz.web.security import same_origin
from schutz.web.templating import render

router = APIRouter(prefix="/account", include_in_schema=False, route_class=UnitOfWorkRoute)

ACCOUNT_COOKIE = "schutz_account"
ACCOUNT_PATH = "/account"
FORM = "account-login"
SWITCH_WORDING = N_(
    "I agree that my data may be used for this purpose, as the privacy policy describes."
    " I can switch it off here at any time."
)


def _page(request: Request, name: str, ctx: dict[str, Any], status: int = 200) -> HTMLResponse:
    response = render(request, f"account/{name}", ctx, status_code=status)
    response.headers.update(NO_STORE)
    return response


def optional_session(request: Request, session: SessionDep) -> account.AccountSession | None:
    return account.current_session(session, request.cookies.get(ACCOUNT_COOKIE, ""), now=utcnow())


def required_session(
    request: Request, session: SessionDep, form: FormDep
) -> account.AccountSession:
    """A live centre session and, on a form post, its CSRF token (else 403)."""
    live = account.current_session(session, request.cookies.get(ACCOUNT_COOKIE, ""), now=utcnow())
    if live is None:
        raise Denied("your session has ended; open the privacy centre again", reason="session")
    if form.get("csrf_token") != live.csrf_token:
        raise Denied("the form has expired; reload the page and try again", reason="csrf")
    return live


MaybeSession = Annotated[account.AccountSession | None, Depends(optional_session)]
CentreSession = Annotated[account.AccountSession, Depends(required_session)]


def _back(lang: str, done: str) -> RedirectResponse:
    return RedirectResponse(f"{ACCOUNT_PATH}?lang={lang}&done={done}", status_code=303)


@router.get("")
def centre(
    request: Request,
    desk: DeskDep,
    live: MaybeSession,
    done: str = "",
) -> Response:
    if live is None:
        return _page(
            request, "login.html", {"form_token": desk.links.form_token(FORM), "error": None}
        )
    policy = desk.rules.policy
    now = utcnow()
    held = holdings.read_holdings(
        desk.session, desk.keyring, live.subject_id, actor=SUBJECT, reason="privacy_centre", now=now
    )
    cookie_consent = getattr(request.state, "cookie_consent", None)
    ctx = {
        "csrf_token": live.csrf_token,
        "held": held,
        "policy": policy,
        "view": overview.build_overview(desk.session, policy, live.subject_id, now=now),
        # This browser's own answer to the banner: analytics it rejected is not counted here,
        # whatever the subject's record says.
        "browser_rejects_analytics": cookie_consent is not None
        and not cookie_consent.needs_asking
        and not cookie_consent.allows("analytics"),
        "editable": [
            (f, policy.category_name(policy.field_categories[f], desk.lang))
            for f in EDITABLE
            if f in policy.field_categories
        ],
        "done": done,
        "wording": SWITCH_WORDING,
        "now": now,
    }
    return _page(request, "centre.html", ctx)


@router.post("/login")
def ask_for_link(
    request: Request,
    desk: DeskDep,
    email: Annotated[str, Form()] = "",
    form_token: Annotated[str, Form(max_length=400)] = "",
) -> Response:
    email = email[:1000]  # kept for the form; an address this long is refused below
    try:
        desk.links.check_form_token(FORM, form_token)
        account.request_link(
            desk.session,
            desk.rules.policy,
            desk.keyring,
            desk.links,
            email=email,
            lang=desk.lang,
            now=utcnow(),
        )
    except InvalidInput:
        ctx = {"form_token": desk.links.form_token(FORM), "error": "email", "email": email}
        raise Revert(_page(request, "login.html", ctx, 422)) from None
    return _page(request, "check_inbox.html", {})  # the same whether or not it is known


@router.get("/login")
def link_page(request: Request, session: SessionDep, token: str = "") -> Response:
    """The mailed link shows a button; only the POST signs in (mail scanners fetch links)."""
    if not account.link_is_valid(session, token, now=utcnow()):
        return _page(request, "link_error.html", {}, 410)
    return _page(request, "open.html", {"token": token})


@router.post("/open")
def open_centre(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    lang: LangDep,
    token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    if not same_origin(request):
        # Another site could sign the visitor's browser into its own centre (login CSRF).
        return _page(request, "link_error.html", {}, 403)
    try:
        cookie = account.open_session(session, token, now=utcnow())
    except InvalidInput:
        raise Revert(_page(request, "link_error.html", {}, 410)) from None
    response = RedirectResponse(f"{ACCOUNT_PATH}?lang={lang}", status_code=303)
    set_session_cookie(response, cookie, settings, name=ACCOUNT_COOKIE, path=ACCOUNT_PATH)
    return response


@router.post("/logout")
def sign_out(
    request: Request, session: SessionDep, settings: SettingsDep, lang: LangDep, live: CentreSession
) -> Response:
    account.end_session(session, request.cookies.get(ACCOUNT_COOKIE, ""))
    response = RedirectResponse(f"/privacy?lang={lang}", status_code=303)
    clear_session_cookie(response, settings, name=ACCOUNT_COOKIE, path=ACCOUNT_PATH)
    return response


@router.post("/consents")
def switch(
    request: Request,
    session: SessionDep,
    rules: RulesDep,
    keyring: KeyringDep,
    lang: LangDep,
    live: CentreSession,
    purpose: Annotated[str, Form(max_length=64)] = "",
    on: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """A switch records a grant, a withdrawal or an objection in the consent ledger.

    Turning the newsletter off is "Deactivate newsletter" (C19); turning it on goes through
    the double opt-in of the newsletter page. The other switches object (Art. 21) or
    grant, with the wording shown kept as proof (Art. 7(1)).
    """
    turn_on = on == "1"
    self_service.switch_action(rules.policy, purpose, on=turn_on)  # 422 for no switch
    if purpose == "newsletter" and turn_on:
        return RedirectResponse(f"/newsletter?lang={lang}", status_code=303)
    try:
        self_service.flip_switch(
            session, rules.policy, keyring, live.subject_id, purpose, on=turn_on,
            wording=translations(lang).gettext(SWITCH_WORDING),
            wording_version=f"account-switch/{lang}",
            user_agent=request.headers.get("user-agent"), now=utcnow(),
        )  # fmt: skip
    except Conflict:
        raise Revert(_back(lang, "unchanged")) from None
    return _back(lang, "consent")


@router.post("/rectify")
def rectify(
    form: FormDep,
    desk: DeskDep,
    live: CentreSession,
) -> Response:
    """Self-service rectification and completion (Art. 16): recorded as a request, applied
    at once, recipients of the old values listed for notification (Art. 19)."""
    try:
        changed = self_service.self_rectify(
            desk.session,
            desk.rules,
            desk.keyring,
            desk.links,
            live.subject_id,
            form,
            lang=desk.lang,
            now=utcnow(),
        )
    except (InvalidInput, Conflict):
        raise Revert(_back(desk.lang, "invalid")) from None
    return _back(desk.lang, "rectified" if changed else "unchanged")


def _submit(desk: Desk, live: account.AccountSession, kind: str) -> DataRequest:
    """A request of `kind` from the centre, verified by its session."""
    return service.submit_verified(
        desk.session, desk.rules, desk.keyring, desk.links, subject_id=live.subject_id,
        kind=kind, lang=desk.lang, actor=SUBJECT, now=utcnow(),
    )  # fmt: skip


@router.post("/export")
def export(
    desk: DeskDep,
    live: CentreSession,
    file: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """A copy of everything, at once: the session already proves the address.

    A copy made within the last day is handed out again instead of a new access request
    (and its mail) for every click. The link it leads to works for 15 minutes and only with
    this session's cookie (path /account), so it dies on sign-out and is of no use to anyone
    it leaks to. `file=json` (the centre's "Download my data") leads to the JSON file as a
    download; without it, to the readable page.
    """
    made = overview.recent_export(desk.session, live.subject_id, now=utcnow())
    if made is None:
        made = _submit(desk, live, "access")
    token = desk.links.session_export_token(made.id, live.token_hash)
    target = "export.json" if file == "json" else "export"
    return RedirectResponse(
        f"{ACCOUNT_PATH}/{target}?token={token}&lang={desk.lang}", status_code=303
    )


def _session_package(
    desk: Desk, live: account.AccountSession | None, token: str
) -> dict[str, Any] | None:
    """The package a centre download link opens, or None if the link or session is not good."""
    if live is None:
        return None
    try:
        request_id = desk.links.session_export_of(token, live.token_hash)
        found = exportable_request(desk.session, request_id)
    except (InvalidInput, Conflict, NotFound):
        return None
    if found.subject_id != live.subject_id:
        return None
    return build_package(
        desk.session, desk.rules.policy, desk.keyring, found, lang=desk.lang, actor=SUBJECT,
        now=utcnow(),
    )  # fmt: skip


@router.get("/export")
@router.get("/export.json")
def export_page(
    request: Request,
    desk: DeskDep,
    live: MaybeSession,
    token: Annotated[str, Query(max_length=400)] = "",
) -> Response:
    """The readable copy (Art. 15(3) GDPR) and the JSON file (Art. 20), for the session
    that asked for it."""
    package = _session_package(desk, live, token)
    if package is None:
        return _page(request, "export_gone.html", {}, 410)
    if request.url.path.endswith(".json"):
        return package_file(package)
    json_url = f"{ACCOUNT_PATH}/export.json?token={quote(token)}&lang={desk.lang}"
    response = render(request, "requests/export.html", {"p": package, "json_url": json_url})
    response.headers.update(NO_STORE)
    return response


@router.post("/requests")
def make_request(
    request: Request,
    desk: DeskDep,
    live: CentreSession,
    kind: Annotated[str, Form(max_length=20)] = "",
    confirm: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """Erasure (which the DPO approves) or restriction, from the centre. Erasure is asked
    for only after a page that says what it does and a second, explicit button."""
    if kind not in REQUESTABLE:
        raise InvalidInput("kind: ask for erasure or restriction here")
    if kind == "erasure" and confirm != "yes":
        return _page(request, "confirm_erasure.html", {"csrf_token": live.csrf_token})
    _submit(desk, live, kind)
    return _back(desk.lang, kind)
