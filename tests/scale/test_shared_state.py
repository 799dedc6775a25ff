"""Two app servers on one PostgreSQL share one rate limit and one undeclared-cookie report."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import anyio
from fastapi import FastAPI

from schutz.clock import utcnow
from schutz.config import Settings
from schutz.cookies.undeclared import report_undeclared, undeclared_rows
from schutz.db import make_engine
from schutz.web.app import create_app
from schutz.web.limits import Rate, SharedBuckets
from webapp import TestClient, close_app


def _server(settings: Settings) -> FastAPI:
    return create_app(settings.model_copy(update={"rate_limit_contact": "3/600"}))


def test_two_servers_allow_one_limit_between_them(pg_settings: Settings) -> None:
    first, second = _server(pg_settings), _server(pg_settings)
    codes = []
    with TestClient(first) as a, TestClient(second) as b:
        for client in (a, b, a, b, a):
            codes.append(client.post("/contact", data={}).status_code)
    close_app(first)
    close_app(second)
    assert codes[3:] == [429, 429]
    assert 429 not in codes[:3]


def test_a_refused_request_says_when_to_come_back(pg_settings: Settings) -> None:
    app = create_app(pg_settings.model_copy(update={"rate_limit_contact": "1/600"}))
    with TestClient(app) as client:
        client.post("/contact", data={})
        refused = client.post("/contact", data={})
    close_app(app)
    assert refused.status_code == 429
    assert 590 <= int(refused.headers["Retry-After"]) <= 600


def test_undeclared_cookies_add_up_across_servers(pg_settings: Settings) -> None:
    first, second = create_app(pg_settings), create_app(pg_settings)
    for app, path in ((first, "/a"), (second, "/b"), (second, "/b")):
        with app.state.sessions() as session, session.begin():
            report_undeclared(session, "tracker", path, now=utcnow())
    with first.state.sessions() as session:
        rows = undeclared_rows(session)
    close_app(first)
    close_app(second)
    assert [(name, count, path) for name, count, path, _ in rows] == [("tracker", 3, "/b")]


def test_leased_tokens_keep_the_limit_within_one_lease_per_server(pg_settings: Settings) -> None:
    engine = make_engine(pg_settings.resolved_database_url)
    # A fiftieth of 100: leases of 2. A day's window refills one token in 14 minutes, so a
    # slow run (a loaded CI machine) cannot earn tokens back while the 120 calls are made.
    rate = Rate(100, 86400.0)
    servers = [SharedBuckets(engine, "collect", rate), SharedBuckets(engine, "collect", rate)]

    async def traffic() -> list[float]:
        return [await servers[i % 2].take("198.51.100.0") for i in range(120)]

    # In a thread of its own: once the browser tests' Playwright driver runs, the main
    # thread counts as running an event loop, and anyio.run refuses to start another there.
    with ThreadPoolExecutor(max_workers=1) as pool:
        waits = pool.submit(anyio.run, traffic).result()
    engine.dispose()
    passed = waits.count(0.0)
    assert servers[0].lease == 2
    assert 100 - 2 * (2 - 1) <= passed <= 100
    assert all(w > 0 for w in waits[passed + 2 :])
