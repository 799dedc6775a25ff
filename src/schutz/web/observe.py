"""What operators watch: `/metrics` for Prometheus and one JSON log line per request.

`ObserveMiddleware` times every request and counts it by method, route template and status
(never the path itself: ids would make the label set unbounded, and a path is no place to
look for personal data), and logs it on `schutz.access` with a request id that every other
log line of that request carries too. `/metrics` adds, on each scrape, a few COUNT queries:
outbox depth by kind and status, dead letters, and open and overdue data-subject requests.

Who may scrape: a client on a trusted-proxy or loopback address talking to us directly (no
`X-Forwarded-For`, so nothing that came in through the reverse proxy), or anyone sending
`Authorization: Bearer <SCHUTZ_METRICS_TOKEN>`.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import re
import secrets
import time
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import generate_latest
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.orm import Session, sessionmaker
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from schutz.breaches.service import unreported_overdue
from schutz.clock import utcnow
from schutz.config import Settings
from schutz.disclosures.metrics import dead_disclosures
from schutz.errors import Denied
from schutz.logging_config import request_id_var
from schutz.mail.metrics import outbox_counts
from schutz.subject_requests.metrics import request_counts
from schutz.web.page_cache import ROUTE_KEY

access_log = logging.getLogger("schutz.access")
router = APIRouter(include_in_schema=False)

REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID_RAW = REQUEST_ID_HEADER.lower().encode("latin-1")
_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")


def _route_of(scope: Scope) -> str:
    cached = scope.get(ROUTE_KEY)  # a page answered from the page cache, before routing
    if cached is not None:
        return str(cached)
    route = scope.get("route")
    if route is not None and hasattr(route, "path"):
        return str(route.path)
    if scope.get("endpoint") is not None:  # a mount, e.g. /static
        return str(scope.get("root_path", "")) or "mount"
    return "unmatched"


class ObserveMiddleware:
    """Counts, times and logs each HTTP request; gives each an id (`X-Request-ID`)."""

    def __init__(self, app: ASGIApp, *, registry: CollectorRegistry) -> None:
        self.app = app
        self.requests = Counter(
            "schutz_http_requests",
            "HTTP requests answered, by method, route template and status.",
            ("method", "route", "status"),
            registry=registry,
        )
        self.latency = Histogram(
            "schutz_http_request_duration_seconds",
            "Time from request to the last byte of the answer, by method and route template.",
            ("method", "route"),
            registry=registry,
        )
        self._counters: dict[tuple[str, str, int], Any] = {}
        self._timers: dict[tuple[str, str], Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        offered = _offered_request_id(scope) if _from_proxy(scope) else ""
        request_id = offered if _SAFE_REQUEST_ID.fullmatch(offered) else secrets.token_hex(8)
        id_header = (_REQUEST_ID_RAW, request_id.encode("latin-1"))
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500

        async def send_observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [h for h in message.get("headers", ()) if h[0] != _REQUEST_ID_RAW]
                headers.append(id_header)
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_observed)
        finally:
            elapsed = time.perf_counter() - started
            method, route = scope["method"], _route_of(scope)
            self._count(method, route, status, elapsed)
            if access_log.isEnabledFor(logging.INFO):
                access_log.info(
                    "%s %s %s",
                    method,
                    route,
                    status,
                    extra={
                        "method": method,
                        "route": route,
                        "status": status,
                        "duration_ms": round(elapsed * 1000, 2),
                    },
                )
            request_id_var.reset(token)

    def _count(self, method: str, route: str, status: int, elapsed: float) -> None:
        # `labels()` takes a lock and builds its key on every call; the children are kept.
        key = (method, route, status)
        counter = self._counters.get(key)
        if counter is None:
            counter = self._counters[key] = self.requests.labels(method, route, str(status))
            self._timers.setdefault((method, route), self.latency.labels(method, route))
        counter.inc()
        self._timers[method, route].observe(elapsed)


def _from_proxy(scope: Scope) -> bool:
    """Whether the socket peer is a trusted proxy: only a proxy's own request id is kept. A
    client's would go into the log as it is, and a plain token can still spell a name."""
    client: tuple[str, int] | None = scope.get("client")
    settings = getattr(getattr(scope.get("app"), "state", None), "settings", None)
    if client is None or settings is None:
        return False
    return client[0] in settings.trusted_proxy_set


def _offered_request_id(scope: Scope) -> str:
    for key, value in scope.get("headers", ()):
        if key == _REQUEST_ID_RAW:
            return str(value.decode("latin-1"))
    return ""


class BacklogCollector(Collector):
    """Gauges read on each scrape from the domains' counts (COUNT queries on indexed columns)."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def collect(self) -> Iterator[Metric]:
        outbox = GaugeMetricFamily(
            "schutz_outbox_messages",
            "Outbox rows (e-mails, webhooks) by kind and status.",
            labels=("kind", "status"),
        )
        dead = GaugeMetricFamily(
            "schutz_dead_letters",
            "Deliveries that gave up after their retries, by what they carried.",
            labels=("kind",),
        )
        open_requests = GaugeMetricFamily(
            "schutz_requests_open", "Data-subject requests not yet completed, refused or expired."
        )
        overdue = GaugeMetricFamily(
            "schutz_requests_overdue",
            "Open data-subject requests past their deadline (Art. 12(3) GDPR).",
        )
        breaches = GaugeMetricFamily(
            "schutz_breaches_unreported_overdue",
            "Breaches not reported to the supervisory authority 72 hours after awareness"
            " (Art. 33(1) GDPR).",
        )
        with self.sessions() as session:
            late_breaches = unreported_overdue(session, now=utcnow())
            by_kind = outbox_counts(session)
            n_dead_disclosures = dead_disclosures(session)
            requests = request_counts(session, now=utcnow())
        for (kind, status), n in by_kind.items():
            outbox.add_metric([kind, status], n)
        for kind in ("email", "webhook"):
            dead.add_metric([kind], by_kind.get((kind, "dead"), 0))
        dead.add_metric(["disclosure"], n_dead_disclosures)
        open_requests.add_metric([], requests.open)
        overdue.add_metric([], requests.overdue)
        breaches.add_metric([], late_breaches)
        yield from (outbox, dead, open_requests, overdue, breaches)


def make_registry(sessions: sessionmaker[Session]) -> CollectorRegistry:
    """A registry per app (tests build many apps in one process; the default one is global)."""
    registry = CollectorRegistry(auto_describe=True)
    registry.register(BacklogCollector(sessions))
    return registry


def _is_local(host: str | None, settings: Settings) -> bool:
    if host is None:
        return False
    if host in settings.trusted_proxy_set:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def may_scrape(request: Request, settings: Settings) -> bool:
    token = settings.metrics_token
    if token:
        offered = request.headers.get("authorization", "")
        if hmac.compare_digest(offered.encode(), f"Bearer {token}".encode()):
            return True
    direct = "x-forwarded-for" not in request.headers and "forwarded" not in request.headers
    return direct and _is_local(request.client.host if request.client else None, settings)


@router.get("/metrics")
def metrics(request: Request) -> Response:
    """Prometheus text exposition format 0.0.4."""
    settings: Settings = request.app.state.settings
    if not may_scrape(request, settings):
        raise Denied(
            "metrics are served to local scrapers, or with the metrics token", reason="metrics"
        )
    registry: CollectorRegistry = request.app.state.metrics_registry
    return Response(
        generate_latest(registry),
        media_type=CONTENT_TYPE_LATEST,
        headers={"Cache-Control": "no-store"},
    )
