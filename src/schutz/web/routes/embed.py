"""Schutz on the operator's own site: the script, its registry, the proof of each choice.

- `GET /sdk/schutz.js`: the embeddable script (static/sdk/schutz.js), with an ETag;
- `GET /api/v1/sites/{site}/registry`: the banner's categories, services and wording in
  English or German, the registry version and the wording's hash; public, cross-origin for
  the declared origins (web/cors.py);
- `POST /api/v1/visitor-consents`: one visitor's choice, kept in the consent ledger with
  site, origin, registry version, wording hash and truncated address (consent/visitor.py);
- the page-view beacon's cross-origin branch (`POST /api/v1/collect` with `site`);
- `GET /staff/analytics/sites.csv`: the per-site report as CSV.
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Depends, Query
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from schutz.analytics.campaigns import clean_utm
from schutz.analytics.events import event_in
from schutz.analytics.service import page_view
from schutz.analytics.sites import site_csv, site_visitor_id
from schutz.clock import utcnow
from schutz.consent.visitor import analytics_granted, parse_choice, record_visitor_choice
from schutz.cookies.registry import registry_document, shown_registry
from schutz.errors import Denied, InvalidInput, NotFound
from schutz.policy.schema import Policy
from schutz.policy.sites import normalise_origin
from schutz.web.auth import StaffContext, require_staff
from schutz.web.client_ip import truncated_client_ip
from schutz.web.cors import sites_of
from schutz.web.deps import PolicyDep, SessionDep, SettingsDep, signing_secret, unit_of_work
from schutz.web.privacy_signals import opted_out

router = APIRouter()

SDK = Path(__file__).resolve().parent.parent / "static" / "sdk" / "schutz.js"
MAX_CHOICE_BYTES = 8192
MAX_BEACON_BYTES = 4096
NO_CONTENT = 204
REPORT_ROLES = ("marketing", "dpo", "admin")


@cache
def _script() -> tuple[bytes, str]:
    body = SDK.read_bytes()
    return body, f'"{hashlib.sha256(body).hexdigest()[:32]}"'


@router.get("/sdk/schutz.js", include_in_schema=False)
async def sdk_script(request: Request) -> Response:
    """The script; cached by browsers and CDNs for five minutes, then revalidated by ETag."""
    body, etag = _script()
    headers = {"ETag": etag, "Cache-Control": "public, max-age=300, must-revalidate"}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="text/javascript; charset=utf-8", headers=headers)


def _origin_of_site(request: Request, site: str) -> str:
    """The request's origin when it is one of `site`'s; `Denied` otherwise."""
    sites = sites_of(request.app)
    if site not in sites:
        raise NotFound("no such site")
    origin = request.headers.get("origin", "")
    try:
        wanted = normalise_origin(origin)
    except ValueError:
        raise Denied("send this from a page of the site", reason="origin") from None
    if wanted not in sites[site].origins:
        raise Denied("this origin is not declared for that site", reason="origin")
    return wanted


@router.get("/api/v1/sites/{site}/registry", tags=["embed"])
def site_registry(request: Request, site: str, policy: PolicyDep, lang: str = "en") -> Response:
    """The banner's registry for `site` in `lang` (en, de): categories, services, wording,
    version and the wording's SHA-256. Public: it holds nothing about anyone."""
    if site not in sites_of(request.app):
        raise NotFound("no such site")
    document = {"site": site, **registry_document(policy, lang)}
    body = json.dumps(document, ensure_ascii=False, sort_keys=True).encode("utf-8")
    etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
    headers = {"ETag": etag, "Cache-Control": "no-cache", "Vary": "Origin"}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


@router.post("/api/v1/visitor-consents", status_code=201, tags=["embed"])
async def visitor_consent(
    request: Request, session: SessionDep, policy: PolicyDep, settings: SettingsDep
) -> JSONResponse:
    """Keep one visitor's choice as proof: `{"site", "visitor", "version", "wording_hash",
    "lang", "categories": {name: bool}, "services": {name: bool}, "gpc"}` → 201
    `{"recorded": [...], "version"}`. Only from a declared origin of that site (403); a
    stale registry version or a wording hash we never served is a 409."""
    body = await request.body()
    if len(body) > MAX_CHOICE_BYTES:
        return JSONResponse({"detail": "the choice is too large"}, status_code=413)
    try:
        data = json.loads(body)
    except ValueError:
        raise InvalidInput("the body is not JSON") from None
    site = data.get("site") if isinstance(data, dict) else None
    if not isinstance(site, str):
        raise InvalidInput("'site' is required")
    choice = parse_choice(data, site_origin=_origin_of_site(request, site))
    ip = truncated_client_ip(request, settings)
    agent = request.headers.get("user-agent")

    def work() -> list[str]:
        # The proof is committed in this thread, before the 201 (one hop, not two).
        with unit_of_work(session):
            registry = shown_registry(policy)
            return record_visitor_choice(
                session, policy, registry, choice, ip=ip, user_agent=agent, now=utcnow()
            )

    written = await anyio.to_thread.run_sync(work)
    return JSONResponse({"recorded": written, "version": choice.version}, status_code=201)


# --- the beacon across origins ---------------------------------------------------------------


async def _granted(request: Request, policy: Policy, visitor: str) -> bool:
    """The ledger's latest word on analytics for `visitor`, read afresh on every beacon: a
    withdrawal (here, on /cookies or at another app server) holds from the very next call."""

    def look() -> bool:
        with request.app.state.sessions() as session:
            return analytics_granted(session, policy, visitor)

    return await anyio.to_thread.run_sync(look)


async def collect_for_site(request: Request, data: dict[str, Any], buffer: Any) -> Response:
    """A page view or event from a declared site; always 204, stored only when the visitor's
    latest word in the ledger on analytics is a grant and no DNT/GPC signal came with it."""
    response = Response(status_code=NO_CONTENT)
    site, visitor = data.get("site"), data.get("visitor")
    if opted_out(request) or not isinstance(site, str) or not isinstance(visitor, str):
        return response
    try:
        _origin_of_site(request, site)
    except (Denied, NotFound):
        return response
    policies = request.app.state.policies
    policy: Policy = policies.in_force(utcnow().date())
    if not await _granted(request, policy, visitor):
        return response
    anon = site_visitor_id(signing_secret(request)[-1], visitor)
    now = utcnow()
    if "event" in data:
        event = event_in(
            site=site,
            name=data.get("event"),
            props=data.get("props"),
            path=data.get("path"),
            visitor_id=anon,
            now=now,
        )
        if event is not None:
            buffer.add(event)
        return response
    view = page_view(
        path=data.get("path"),
        referrer=data.get("referrer"),
        ip=truncated_client_ip(request, request.app.state.settings),
        visitor_id=anon,
        now=now,
        site=site,
        utm=clean_utm(data.get("utm")),
    )
    if view is not None:
        buffer.add(view)
    return response


@router.get("/staff/analytics/sites.csv", include_in_schema=False)
def sites_csv(
    request: Request,
    session: SessionDep,
    _staff: Annotated[StaffContext, Depends(require_staff(*REPORT_ROLES))],
    site: str,
    days: Annotated[int, Query(ge=1, le=731)] = 30,
) -> Response:
    """Page views by day and path, campaigns and events of one site, as CSV (RFC 4180)."""
    if site not in sites_of(request.app):
        raise NotFound("no such site")
    buffer = getattr(request.app.state, "analytics_buffer", None)
    if buffer is not None:
        buffer.flush()
    end = utcnow().date()
    text = site_csv(session, site, end - timedelta(days=days - 1), end)
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="analytics-{site}-{end}.csv"'},
    )
