"""Newsletter pages (sign-up, confirm, unsubscribe) and `POST /api/v1/newsletter/issues`.

Every form works without JavaScript and without cookies (C16): public forms carry a signed,
timed token instead of a cookie-bound CSRF token. Confirming is a button on the page the mail
links to, so a mail scanner that fetches links cannot confirm for anyone. Unsubscribing
follows RFC 8058: a POST of `List-Unsubscribe=One-Click` with no cookie unsubscribes at once.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from schutz.clock import utcnow
from schutz.config import Settings
from schutz.errors import Conflict, InvalidInput
from schutz.identity.actor import Actor
from schutz.newsletter import service, tokens
from schutz.newsletter.service import Links
from schutz.subject_requests import lookups
from schutz.vault.validation import normalise_email
from schutz.web.auth import require_role
from schutz.web.client_ip import truncated_client_ip
from schutz.web.deps import (
    KeyringDep,
    LangDep,
    PolicyDep,
    RulesDep,
    SessionDep,
    SettingsDep,
    UnitOfWorkRoute,
    signing_secret,
)
from schutz.web.errors import Revert
from schutz.web.i18n import N_, translations
from schutz.web.templating import render

router = APIRouter(tags=["newsletter"], route_class=UnitOfWorkRoute)

SUBSCRIBER = "subject"
FORM = "newsletter"
WORDING_VERSION = "newsletter-signup-2026-11"
NO_STORE = {"Cache-Control": "no-store"}


WORDING = N_(
    "I would like to receive the newsletter by e-mail. My address is used for nothing else"
    " and passed to no one. I can unsubscribe at any time, with the link in every newsletter."
)


secret_of = signing_secret


def get_links(request: Request, settings: SettingsDep) -> Links:
    return Links(base_url=settings.base_url, secret=secret_of(request))


LinksDep = Annotated[Links, Depends(get_links)]
Marketing = Annotated[Actor, Depends(require_role("marketing"))]


def client_ip(request: Request, settings: Settings) -> str | None:
    """The visitor's address for the proof of consent, as the trusted proxy saw it: the
    right-most `X-Forwarded-For` hop that is not a trusted proxy (the hops left of it are
    whatever the client chose to send, RFC 7239 §7.4). Already truncated; the ledger
    truncates again, which changes nothing."""
    return truncated_client_ip(request, settings)


def _page(request: Request, name: str, ctx: dict[str, object], status: int = 200) -> HTMLResponse:
    response = render(request, f"newsletter/{name}", ctx, status_code=status)
    response.headers.update(NO_STORE)
    return response


def _signup_form(
    request: Request, lang: str, *, error: str | None = None, email: str = "", status: int = 200
) -> HTMLResponse:
    ctx: dict[str, object] = {
        "form_token": tokens.form_token(secret_of(request), FORM),
        "wording": translations(lang).gettext(WORDING),
        "error": error,
        "email": email,
    }
    return _page(request, "signup.html", ctx, status)


def _link_error(request: Request, exc: InvalidInput | Conflict) -> HTMLResponse:
    if isinstance(exc, tokens.TokenExpired):
        problem, status = "expired", 410
    elif isinstance(exc, Conflict):
        problem, status = "used", 409
    else:
        problem, status = "invalid", 400
    return _page(request, "link_error.html", {"problem": problem}, status)


@router.get("/newsletter", include_in_schema=False)
def signup_form(request: Request, lang: LangDep) -> Response:
    return _signup_form(request, lang)


@router.post("/newsletter", include_in_schema=False)
def signup(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    keyring: KeyringDep,
    links: LinksDep,
    lang: LangDep,
    email: Annotated[str, Form()] = "",
    form_token: Annotated[str, Form(max_length=400)] = "",
) -> Response:
    email = email[:1000]  # kept for the form; an address this long is refused below
    try:
        tokens.check_form_token(links.secret, FORM, form_token)
    except InvalidInput:
        return _signup_form(request, lang, error="expired", email=email, status=400)
    try:
        address = normalise_email(email)
    except InvalidInput:
        return _signup_form(request, lang, error="email", email=email, status=422)
    job = {
        "email": address,
        "wording": translations(lang).gettext(WORDING),
        "wording_version": f"{WORDING_VERSION}/{lang}",
        "form_url": request.url.path,
        "ip": client_ip(request, settings),
        "user_agent": request.headers.get("user-agent"),
        "lang": lang,
        "actor": SUBSCRIBER,
        "base_url": links.base_url,
    }
    # Nothing here touches the vault: the intake, the grant with its proof and the mail run
    # in the worker from this sealed job, so a known address answers as fast as a new one.
    lookups.defer(session, keyring, lookups.NEWSLETTER, job, now=utcnow())
    # The same answer whether the address was new, pending or already confirmed.
    return _page(request, "check_inbox.html", {})


@router.get("/newsletter/confirm", include_in_schema=False)
def confirm_page(request: Request, links: LinksDep, token: str = "") -> Response:
    try:
        tokens.load(links.secret, tokens.CONFIRM, token, max_age=tokens.CONFIRM_MAX_AGE)
    except InvalidInput as exc:
        return _link_error(request, exc)
    return _page(request, "confirm.html", {"token": token})


@router.post("/newsletter/confirm", include_in_schema=False)
def confirm(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    policy: PolicyDep,
    links: LinksDep,
    token: Annotated[str, Query()] = "",
) -> Response:
    try:
        service.confirm(
            session,
            policy,
            links,
            token=token,
            ip=client_ip(request, settings),
            user_agent=request.headers.get("user-agent"),
            actor=SUBSCRIBER,
            now=utcnow(),
        )
    except (InvalidInput, Conflict) as exc:
        raise Revert(_link_error(request, exc)) from None
    unsubscribe = service.unsubscribe_token(links, _subject(links, token))
    return _page(request, "confirmed.html", {"unsubscribe_token": unsubscribe})


def _subject(links: Links, token: str) -> str:
    subject_id = tokens.load(links.secret, tokens.CONFIRM, token).get("s")
    return str(subject_id)


@router.get("/newsletter/unsubscribe", include_in_schema=False)
def unsubscribe_page(request: Request, links: LinksDep, token: str = "") -> Response:
    try:
        service.subject_of_unsubscribe(links, token)
    except InvalidInput as exc:
        return _link_error(request, exc)
    return _page(request, "unsubscribe.html", {"token": token})


@router.post("/newsletter/unsubscribe", include_in_schema=False)
def unsubscribe(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    policy: PolicyDep,
    links: LinksDep,
    token: Annotated[str, Query()] = "",
    list_unsubscribe: Annotated[str, Form(alias="List-Unsubscribe", max_length=40)] = "",
) -> Response:
    """RFC 8058 §3.1: the body `List-Unsubscribe=One-Click` means the mail program's button;
    answer at once, no redirect. Anything else is the button on our own page."""
    one_click = list_unsubscribe == "One-Click"
    try:
        service.unsubscribe(
            session,
            policy,
            links,
            token=token,
            how="one-click" if one_click else "page",
            ip=client_ip(request, settings),
            user_agent=request.headers.get("user-agent"),
            actor=SUBSCRIBER,
            now=utcnow(),
        )
    except InvalidInput as exc:
        raise Revert(_link_error(request, exc)) from None
    return _page(request, "unsubscribed.html", {})


class IssueCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject: str = Field(min_length=1, max_length=service.SUBJECT_MAX, examples=["Our news"])
    body: str = Field(min_length=1, max_length=service.BODY_MAX, description="Plain text.")


class IssueQueued(BaseModel):
    issue_id: str
    recipients: int = Field(description="Confirmed subscribers a mail was queued for.")


@router.post("/api/v1/newsletter/issues", status_code=202, response_model=IssueQueued)
def send_issue(
    body: IssueCreate,
    session: SessionDep,
    rules: RulesDep,
    keyring: KeyringDep,
    links: LinksDep,
    actor: Marketing,
) -> IssueQueued:
    """Queue the issue for confirmed subscribers only; each mail has a one-click unsubscribe."""
    result = service.send_issue(
        session,
        rules,
        keyring,
        links,
        subject=body.subject,
        body=body.body,
        actor=actor.label,
        role=actor.role,
        now=utcnow(),
    )
    return IssueQueued(issue_id=result.issue_id, recipients=result.recipients)
