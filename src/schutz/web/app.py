"""`create_app(settings)`: the only place the web edge builds engines, sessions and policies."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.telemetry import TelemetryConfig

from schutz import __version__
from schutz.analytics.partitions import prepare_months
from schutz.audit.keys import bind_audit_key, load_audit_key
from schutz.clock import utcnow
from schutz.config import Settings
from schutz.db import make_engine, make_session_factory
from schutz.policy.loader import load_policy_set
from schutz.policy.sites import declared_sites
from schutz.vault.keys import load_keyring
from schutz.web.api_summaries import write_summaries
from schutz.web.auth import load_or_create_secret
from schutz.web.cookie_guard import CookieGuardMiddleware
from schutz.web.cors import CorsMiddleware
from schutz.web.errors import install_error_handlers
from schutz.web.limits import BodyLimitMiddleware, RateLimitMiddleware
from schutz.web.observe import ObserveMiddleware, make_registry
from schutz.web.observe import router as metrics_router
from schutz.web.page_cache import PageCache, PageCacheMiddleware
from schutz.web.probe import ProbeMiddleware
from schutz.web.routes import (
    account,
    analytics,
    audiences,
    consents,
    contact,
    cookies,
    embed,
    favicon,
    health,
    meta,
    newsletter,
    orders,
    policy_api,
    policy_pages,
    requests_api,
    requests_pages,
    social,
    staff,
    staff_breaches,
    staff_consents,
    staff_disclosures,
    staff_paper,
    staff_requests,
    subject_events,
    subjects,
    systems_api,
)
from schutz.web.security import SecurityHeadersMiddleware
from schutz.web.templating import TEMPLATE_DIR, make_templates

STATIC_DIR = TEMPLATE_DIR.parent / "static"


NO_TELEMETRY: TelemetryConfig = {
    "tracing": False,
    "metrics": False,
    "logs": False,
    "operation_spans": False,
    "auto_configure": False,
}
# Routes are matched in order, one regex each: the hottest come first (the page-view beacon is
# the busiest; it was the 74th route tried).
HOT_ROUTES = (analytics, policy_pages, cookies, health, favicon)
ROUTES = (
    meta,
    policy_api,
    subjects,
    subject_events,
    orders,
    consents,
    audiences,
    newsletter,
    contact,
    requests_api,
    systems_api,
    requests_pages,
    account,
    staff,
    staff_paper,
    staff_requests,
    staff_disclosures,
    staff_breaches,
    staff_consents,
    social,
    embed,
)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield
    buffer = getattr(app.state, "analytics_buffer", None)
    if buffer is not None:
        buffer.close()
    app.state.engine.dispose()


def create_app(
    settings: Settings | None = None, *, extra_routers: Sequence[APIRouter] = ()
) -> FastAPI:
    """The app; `extra_routers` come last (the demo's shop and sandbox: `schutz.demo.app`)."""
    settings = settings or Settings()
    app = FastAPI(
        lifespan=_lifespan,
        title="Schutz",
        version=__version__,
        openapi_url="/api/v1/openapi.json",
        docs_url=None,
        redoc_url=None,
        # FastAPI's OpenTelemetry bridge off: it would hand exception messages (which may
        # quote a request's values) to any provider a library installs, and its checks
        # cost every request; Schutz counts and times requests itself (`web/observe.py`).
        telemetry=NO_TELEMETRY,
    )
    _bind_state(app, settings)
    _add_middleware(app, settings)
    install_error_handlers(app)
    app.router.routes[:0] = [health.LIVENESS, analytics.BEACON]
    for module in HOT_ROUTES:
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    for module in ROUTES:
        app.include_router(module.router)
    app.include_router(metrics_router)
    for extra in extra_routers:
        app.include_router(extra)
    write_summaries(app)
    return app


def _bind_state(app: FastAPI, settings: Settings) -> None:
    """Engine, sessions, policies, keys and caches, made once before the first request."""
    engine = make_engine(settings.resolved_database_url)
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = make_session_factory(engine)
    app.state.policies = load_policy_set(settings.policy)
    declared_sites({}, settings.sites)  # a malformed SCHUTZ_SITES stops the start (one line)
    # Create the keyring and the signing secret before the first request, so concurrent
    # first requests cannot race to create them.
    load_keyring(settings)
    bind_audit_key(engine, load_audit_key(settings))
    app.state.secret = load_or_create_secret(settings.data_dir)
    prepare_months(app.state.sessions, utcnow().date())  # PostgreSQL's page-view partitions
    app.state.templates = make_templates()
    app.state.page_cache = PageCache()


def _add_middleware(app: FastAPI, settings: Settings) -> None:
    """The last added runs first: observe (count, time, log) every answer; the liveness probe
    inside it and outside everything else; the cookie guard and security headers on every
    answer, refusals included; then pages kept in the page cache, answered without routing
    (only GETs, which the CORS, rate and body limits below never act on); CORS for declared
    sites, then rate and body limits before any route."""
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(RateLimitMiddleware, settings=settings)
    app.add_middleware(CorsMiddleware)
    app.add_middleware(PageCacheMiddleware)
    app.add_middleware(SecurityHeadersMiddleware, hsts=settings.secure_cookies)
    app.add_middleware(CookieGuardMiddleware)
    app.add_middleware(ProbeMiddleware, hsts=settings.secure_cookies)
    app.state.metrics_registry = make_registry(app.state.sessions)
    app.add_middleware(ObserveMiddleware, registry=app.state.metrics_registry)
