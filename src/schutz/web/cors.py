"""Cross-origin access for the embeddable script's endpoints, for declared origins only.

The operator's sites (`sites:` in the policy, `SCHUTZ_SITES`) may call the endpoints in
`CROSS_ORIGIN` from their pages (the Fetch standard's CORS protocol): a preflight from a
declared origin gets 204 with the methods and the one header the script sends; an answer to
a declared origin names exactly that origin, never `*`, and never allows credentials (the
script sends no cookie of ours; the visitor id travels in the body). A request from any
other site is refused with 403 before a route runs, and counted in
`schutz_cors_refused_total`. Same-origin requests (our own pages) pass untouched.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any
from weakref import WeakKeyDictionary

from prometheus_client import CollectorRegistry, Counter
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from schutz.policy.sites import Site, declared_sites, normalise_origin
from schutz.web.errors import error_response

CROSS_ORIGIN = ("/api/v1/visitor-consents", "/api/v1/collect", "/api/v1/sites/", "/sdk/")
ALLOW_METHODS = b"GET, POST"
ALLOW_HEADERS = b"content-type"
MAX_AGE = b"600"

_counters: WeakKeyDictionary[CollectorRegistry, Counter] = WeakKeyDictionary()
_lock = threading.Lock()


def refusals(registry: CollectorRegistry) -> Counter:
    """The counter of refused cross-origin requests in `registry` (made once per registry)."""
    with _lock:
        counter = _counters.get(registry)
        if counter is None:
            counter = Counter(
                "schutz_cors_refused",
                "Cross-origin requests refused because their origin is not a declared site.",
                ("route",),
                registry=registry,
            )
            _counters[registry] = counter
        return counter


def sites_of(app: Any) -> dict[str, Site]:
    """The declared sites: the policy in force today, plus `SCHUTZ_SITES`."""
    state = app.state
    policy = state.policies.in_force(datetime.now(UTC).date())
    cached = getattr(state, "declared_sites", None)
    if cached is not None and cached[0] is policy:
        return dict(cached[1])
    sites = declared_sites(policy.sites, state.settings.sites)
    state.declared_sites = (policy, sites)
    return dict(sites)


def allowed_origins(app: Any) -> frozenset[str]:
    return frozenset(o for site in sites_of(app).values() for o in site.origins)


def _route(path: str) -> str:
    return next((p for p in CROSS_ORIGIN if path.startswith(p)), "other")


def _own_origins(scope: Scope, headers: Headers) -> tuple[str, ...]:
    """Schutz's own origin as a browser would send it: same scheme and host, so that
    `evil://schutz.example` is not taken for the site itself."""
    host = headers.get("host", "")
    scheme = scope.get("scheme", "http")
    return (f"{scheme}://{host}", f"https://{host}") if host else ()


class CorsMiddleware:
    """See the module docstring."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(CROSS_ORIGIN):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        if origin is None or origin in _own_origins(scope, headers):
            await self.app(scope, receive, send)
            return
        try:
            wanted = normalise_origin(origin)
        except ValueError:
            wanted = ""
        if wanted not in allowed_origins(scope["app"]):
            registry = getattr(scope["app"].state, "metrics_registry", None)
            if registry is not None:
                refusals(registry).labels(_route(scope["path"])).inc()
            response = error_response(
                Request(scope), 403, "this origin is not a site declared for Schutz"
            )
            response.headers["Vary"] = "Origin"
            await response(scope, receive, send)
            return
        cors = [
            (b"access-control-allow-origin", origin.encode("latin-1")),
            (b"vary", b"Origin"),
        ]
        if scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
            await send(
                {
                    "type": "http.response.start",
                    "status": 204,
                    "headers": [
                        *cors,
                        (b"access-control-allow-methods", ALLOW_METHODS),
                        (b"access-control-allow-headers", ALLOW_HEADERS),
                        (b"access-control-max-age", MAX_AGE),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": b""})
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [h for h in message.get("headers", ()) if h[0].lower() != b"vary"]
                message["headers"] = [*kept, *cors]
            await send(message)

        await self.app(scope, receive, send_with_cors)
