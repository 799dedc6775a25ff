"""The privacy policy for people: the version in force, earlier versions, changes, a feed.

Every sentence on these pages is a template string in the visitor's language, worded through
the policy's one presentation (`schutz.policy.presentation`, gettext); every fact (purposes,
recipients, cookies, addresses, dates) comes from the policy file (clause C13, C17, C26).
Nothing here decides anything. The readable diff of versions is in `policy_changes.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from schutz.clock import utcnow
from schutz.errors import NotFound
from schutz.policy.loader import PolicySet
from schutz.policy.outline import sections_by_key
from schutz.policy.presentation import (
    CHANNELS,
    COOKIE_CATEGORIES,
    OPT_OUTS,
    UNSUBSCRIBE,
    PolicyFormat,
    policy_format,
)
from schutz.policy.schema import Policy
from schutz.web.deps import PoliciesDep, SettingsDep
from schutz.web.i18n import pick_language, translations
from schutz.web.page_cache import cached_page
from schutz.web.routes import policy_changes
from schutz.web.routes.policy_changes import unknown_version
from schutz.web.templating import render

router = APIRouter(include_in_schema=False)
router.include_router(policy_changes.router)

__all__ = ["PolicyFormat", "VersionEntry", "policy_format", "router", "version_history"]

ATOM_MEDIA_TYPE = "application/atom+xml"


@dataclass(frozen=True)
class VersionEntry:
    """One version in the history: when it applied and how it stands today."""

    policy: Policy
    until: date | None
    status: Literal["current", "earlier", "upcoming"]


def version_history(policies: PolicySet, today: date) -> list[VersionEntry]:
    """Every version, oldest first, with the day its successor took over."""
    try:
        current = policies.in_force(today).version
    except NotFound:
        current = None
    versions = list(policies)
    entries = []
    for index, policy in enumerate(versions):
        successor = versions[index + 1] if index + 1 < len(versions) else None
        if policy.version == current:
            status: Literal["current", "earlier", "upcoming"] = "current"
        elif policy.effective_date > today:
            status = "upcoming"
        else:
            status = "earlier"
        entries.append(
            VersionEntry(policy, successor.effective_date if successor else None, status)
        )
    return entries


def _entry(history: list[VersionEntry], version: str) -> VersionEntry:
    return next(e for e in history if e.policy.version == version)


def _page_context(request: Request, policies: PolicySet, policy: Policy) -> dict[str, object]:
    lang = pick_language(request)
    fmt = policy_format(lang)
    history = version_history(policies, utcnow().date())
    entry = _entry(history, policy.version)
    index = history.index(entry)
    return {
        "policy": policy,
        "entry": entry,
        "previous": history[index - 1].policy if index > 0 else None,
        "history": history,
        "fmt": fmt,
        "sections": sections_by_key(policy, fmt),
        "labels": {
            "channels": CHANNELS,
            "cookie_categories": COOKIE_CATEGORIES,
            "opt_outs": OPT_OUTS,
            "unsubscribe": UNSUBSCRIBE,
        },
    }


@router.get("/privacy", response_class=HTMLResponse)
async def privacy_policy(request: Request, policies: PoliciesDep) -> Response:
    """The policy in force today, in the visitor's language."""

    def build() -> Response:
        policy = policies.in_force(utcnow().date())
        return render(request, "privacy/policy.html", _page_context(request, policies, policy))

    return await cached_page(request, build)


@router.get("/privacy/versions", response_class=HTMLResponse)
async def policy_versions(request: Request, policies: PoliciesDep) -> Response:
    """Every version with its effective date, newest first (clause C26)."""

    def build() -> Response:
        fmt = policy_format(pick_language(request))
        history = version_history(policies, utcnow().date())
        return render(
            request, "privacy/versions.html", {"history": list(reversed(history)), "fmt": fmt}
        )

    return await cached_page(request, build)


@router.get("/privacy/versions/{version}", response_class=HTMLResponse)
async def policy_version(request: Request, policies: PoliciesDep, version: str) -> Response:
    """One version as it was (or will be) published."""

    def build() -> Response:
        try:
            policy = policies.get(version)
        except NotFound:
            return unknown_version(request, version)
        return render(request, "privacy/policy.html", _page_context(request, policies, policy))

    return await cached_page(request, build)


@router.get("/privacy/feed.atom")
async def policy_feed(request: Request, policies: PoliciesDep, settings: SettingsDep) -> Response:
    """An Atom 1.0 feed (RFC 4287) with one entry per version, so readers learn of changes."""

    def build() -> Response:
        lang = pick_language(request)
        trans = translations(lang)
        history = version_history(policies, utcnow().date())
        template = request.app.state.templates.get_template("privacy/feed.xml")
        body = template.render(
            lang=lang,
            base=settings.base_url.rstrip("/"),
            history=list(reversed(history)),
            latest=policies.latest,
            fmt=policy_format(lang),
            gettext=trans.gettext,
            ngettext=trans.ngettext,
            _=trans.gettext,
        )
        return Response(body, media_type=ATOM_MEDIA_TYPE, headers={"Content-Language": lang})

    return await cached_page(request, build)
