"""The cookie banner's form posts and the `/cookies` page where choices change at any time.

Both work without JavaScript: plain forms, a 303 back to the page. `static/banner.js` only
sends the same form with `Accept: application/json` and hides the banner. "Reject all"
sits beside "Accept all", same size, same form (Art. 7(3) GDPR: withdrawing is as easy as
giving). Each choice becomes a consent event for the visitor's random id, with the policy
version and the hash of the wording shown (Art. 7(1)); withdrawing deletes that
category's cookies (TDDDG §25).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from html import unescape
from typing import Annotated, Any

from babel.units import format_unit
from fastapi import APIRouter, Form
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from schutz.clock import utcnow
from schutz.cookies.choices import Choices, apply_choice
from schutz.cookies.registry import (
    CONSENT_COOKIE,
    registry_for,
)
from schutz.cookies.service import record_choices
from schutz.errors import Denied
from schutz.policy.schema import Policy, duration_days
from schutz.web.client_ip import truncated_client_ip
from schutz.web.deps import PolicyDep, SessionDep, SettingsDep, UnitOfWorkRoute
from schutz.web.i18n import babel_locale, pick_language, translations
from schutz.web.page_cache import cached_page
from schutz.web.routes.analytics import visitor_choices
from schutz.web.security import same_origin
from schutz.web.templating import render

router = APIRouter(include_in_schema=False, route_class=UnitOfWorkRoute)

WORDING_TEMPLATE = "cookies/_wording.html"
BABEL_LOCALES = {"en": "en_GB", "de": "de_DE"}
_TAGS = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")


def safe_next(target: str | None) -> str:
    """Back to a page of this site only; anything else goes to the cookie page."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/cookies"


def wording_text(
    request: Request, categories: tuple[str, ...], own: Mapping[str, Any] | None = None
) -> str:
    """The consent wording exactly as the banner and /cookies show it, as plain text.

    Rendered from the same template fragment the pages include, so the hash in the ledger
    is the hash of what the visitor read.
    """
    lang = pick_language(request)
    trans = translations(lang)
    html = request.app.state.templates.env.get_template(WORDING_TEMPLATE).render(
        lang=lang,
        categories=categories,
        own=own or {},
        chosen={},
        _=trans.gettext,
        gettext=trans.gettext,
        ngettext=trans.ngettext,
    )
    return _SPACE.sub(" ", unescape(_TAGS.sub(" ", html))).strip()


def duration_label(value: str, lang: str) -> str:
    """`P13M` as "13 months"; a session cookie as "until the browser closes"."""
    days = duration_days(value)
    locale = babel_locale(BABEL_LOCALES.get(lang, "en_GB"))
    if days is None:
        return translations(lang).gettext("until the browser closes")
    if days % 365 == 0:
        return format_unit(days // 365, "duration-year", length="long", locale=locale)
    if days % 30 == 0:
        return format_unit(days // 30, "duration-month", length="long", locale=locale)
    return format_unit(days, "duration-day", length="long", locale=locale)


def _cookie_rows(policy: Policy, lang: str) -> dict[str, list[dict[str, Any]]]:
    rows: dict[str, list[dict[str, Any]]] = {}
    for cookie in policy.cookies:
        rows.setdefault(cookie.category, []).append(
            {
                "name": cookie.name,
                "label": cookie.label.get(lang) if cookie.label else None,
                "provider": cookie.provider,
                "purpose": cookie.purpose.get(lang),
                "duration": duration_label(cookie.duration, lang),
            }
        )
    return rows


@router.get("/cookies")
async def cookie_page(request: Request, policy: PolicyDep, saved: str | None = None) -> Response:
    """Every cookie of the policy in force, by category, and the visitor's choices."""

    def build() -> Response:
        lang = pick_language(request)
        choices = visitor_choices(request)
        return render(
            request,
            "cookies/page.html",
            {
                "categories": registry_for(policy).categories,
                "own": registry_for(policy).own,
                "chosen": choices.decided if choices else {},
                "cookie_rows": _cookie_rows(policy, lang),
                "policy": policy,
                "saved": saved == "1",
                "hide_cookie_banner": True,
            },
        )

    # The page shows the visitor's choices, which the cache key holds (page_cache.page_key).
    return await cached_page(request, build)


@router.post("/cookies")
def save_choices(
    request: Request,
    session: SessionDep,
    policy: PolicyDep,
    settings: SettingsDep,
    action: Annotated[str, Form()] = "save",
    allow: Annotated[list[str] | None, Form()] = None,
    category: Annotated[str | None, Form()] = None,
    service: Annotated[str | None, Form()] = None,
    next: Annotated[str | None, Form()] = None,
) -> Response:
    """Record the visitor's choice: `accept`, `reject`, `save` (the ticked `allow` boxes) or
    `grant` (one `service`, as a two-click embed asks: consent per provider; or one
    `category`); then back to the page."""
    if not same_origin(request):
        raise Denied("this form can only be sent from this site", reason="origin")
    registry = registry_for(policy)
    categories = registry.categories  # the wording names them
    before = visitor_choices(request)
    change = apply_choice(
        before,
        registry,
        action,
        allow=tuple(allow or ()),
        category=category,
        service=service,
        embeds=tuple(policy.embeds),
    )
    after = change.after
    record_choices(
        session,
        policy,
        change.before,
        after,
        wording=wording_text(request, categories, registry.own),
        ip=truncated_client_ip(request, settings),
        user_agent=request.headers.get("user-agent"),
        now=utcnow(),
    )
    consent = getattr(request.state, "cookie_consent", None)
    if consent is not None:
        consent.choices = after
    response = _answer(request, policy, after, next)
    response.set_cookie(
        CONSENT_COOKIE,
        after.encode(),
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
    )
    for name in sorted(change.to_delete & request.cookies.keys()):
        response.delete_cookie(name)
    return response


def _answer(request: Request, policy: Policy, after: Choices, next: str | None) -> Response:
    """JSON for the banner script, else back to the page the visitor came from."""
    if "application/json" in request.headers.get("accept", ""):
        return JSONResponse(
            {
                "allowed": sorted(after.allowed),
                "services": sorted(s for s, yes in after.services.items() if yes),
                "version": policy.version,
            }
        )
    target = safe_next(next)
    if target == "/cookies":
        target = f"/cookies?saved=1&lang={pick_language(request)}"
    return RedirectResponse(target, status_code=303)
