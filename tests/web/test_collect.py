"""POST /api/v1/collect: 204 always; stored only with consent and without DNT/GPC/opt-out;
the address truncated before anything sees it (C23, C24)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session

from live import migrated_sqlite_url, uvicorn_serving, wait_for
from schutz.analytics.models import PageView
from schutz.config import Settings
from schutz.db import make_engine, make_session_factory
from schutz.web.app import create_app
from sqlite_files import read_out_of_process
from webapp import TestClient, close_app, consent_cookie

FULL_IP = "203.0.113.77"


@pytest.fixture
def app(settings: Settings) -> Iterator[FastAPI]:
    # The TestClient's peer is "testclient"; trust it as a proxy for these tests.
    app = create_app(settings.model_copy(update={"trusted_proxies": "testclient,127.0.0.1"}))
    yield app
    close_app(app)


def stored(app: FastAPI) -> list[PageView]:
    """What reached the database, once the batch is written."""
    buffer = getattr(app.state, "analytics_buffer", None)
    if buffer is not None:
        buffer.flush()
    with app.state.sessions() as session:
        return list(session.scalars(select(PageView)))


def test_a_page_view_with_consent_is_stored_truncated(client: TestClient, app: FastAPI) -> None:
    client.cookies.set("schutz_consent", consent_cookie(analytics=True, embeds=False))

    response = client.post(
        "/api/v1/collect",
        json={"path": "/shop?coupon=x", "referrer": "https://news.example/a?b=c"},
        headers={"X-Forwarded-For": f"10.0.0.1, {FULL_IP}"},
    )

    assert response.status_code == 204
    [view] = stored(app)
    assert view.ip_truncated == "203.0.113.0"
    assert view.path == "/shop"
    assert view.referrer == "news.example/a"
    assert view.visitor_id is not None
    assert "schutz_vid=" in response.headers["set-cookie"]


def test_x_forwarded_for_from_an_untrusted_peer_is_ignored(settings: Settings) -> None:
    app = create_app(settings)  # default trust: 127.0.0.1 and ::1 only
    try:
        with TestClient(app) as client:
            client.cookies.set("schutz_consent", consent_cookie(analytics=True))
            client.post("/api/v1/collect", json={"path": "/"}, headers={"X-Forwarded-For": FULL_IP})
        [view] = stored(app)
        assert view.ip_truncated is None  # "testclient" is no address; the header was not used
    finally:
        close_app(app)


@pytest.mark.parametrize(
    ("headers", "cookies"),
    [
        ({"DNT": "1"}, {"schutz_consent": consent_cookie(analytics=True)}),
        ({"Sec-GPC": "1"}, {"schutz_consent": consent_cookie(analytics=True)}),
        ({}, {"schutz_consent": consent_cookie(analytics=True), "schutz_optout": "1"}),
        ({}, {"schutz_consent": consent_cookie(analytics=False)}),
        ({}, {}),
    ],
    ids=["dnt", "gpc", "opt-out-cookie", "refused", "never-asked"],
)
def test_nothing_is_stored_without_consent_or_under_a_signal(
    client: TestClient, app: FastAPI, headers: dict[str, str], cookies: dict[str, str]
) -> None:
    for name, value in cookies.items():
        client.cookies.set(name, value)

    response = client.post("/api/v1/collect", json={"path": "/privacy"}, headers=headers)

    assert response.status_code == 204
    assert "set-cookie" not in response.headers
    assert stored(app) == []


def test_garbage_is_answered_204_and_dropped(client: TestClient, app: FastAPI) -> None:
    client.cookies.set("schutz_consent", consent_cookie(analytics=True))
    for body in (b"not json", b"[1,2]", b'{"path": "http://evil.example/"}', b"x" * 10_000):
        assert client.post("/api/v1/collect", content=body).status_code == 204
    assert stored(app) == []


def test_the_opt_out_page_sets_and_removes_its_cookie(client: TestClient) -> None:
    assert "Opt out" in client.get("/analytics/opt-out").text
    out = client.post("/analytics/opt-out", data={"action": "out"}, follow_redirects=False)
    assert "schutz_optout=1" in out.headers.get_list("set-cookie")[0]
    back = client.post("/analytics/opt-out", data={"action": "in"}, follow_redirects=False)
    assert "schutz_optout" in back.headers["set-cookie"]
    assert "Max-Age=0" in back.headers["set-cookie"]


# --- the full address appears nowhere: a real uvicorn, its log, the SQLite file -------------


@pytest.fixture
def real_server(tmp_path: Path) -> Iterator[tuple[str, Path, Path]]:
    data_dir = tmp_path / "data"
    db_file = data_dir / "schutz.db"
    log = tmp_path / "server.log"
    # Access log on (level info). Uvicorn's own proxy-header rewrite is off: Schutz decides
    # which proxies it trusts (SCHUTZ_TRUSTED_PROXIES) and truncates before logging.
    args = ("--log-level", "debug", "--no-proxy-headers")
    with uvicorn_serving(data_dir, migrated_sqlite_url(data_dir), log=log, args=args) as base:
        yield base, db_file, log


def test_the_full_address_reaches_neither_database_nor_log(
    real_server: tuple[str, Path, Path],
) -> None:
    base, db_file, log = real_server
    cookies = {"schutz_consent": consent_cookie(analytics=True, embeds=False)}
    with httpx.Client(base_url=base, cookies=cookies) as client:
        for path in ("/", "/privacy", "/shop"):
            response = client.post(
                "/api/v1/collect",
                json={"path": path, "referrer": ""},
                headers={"X-Forwarded-For": FULL_IP},
            )
            assert response.status_code == 204
        client.post("/cookies", data={"action": "accept"}, headers={"X-Forwarded-For": FULL_IP})

    engine = make_engine(f"sqlite:///{db_file}")
    sessions = make_session_factory(engine)

    def stored() -> list[str]:
        with sessions() as session:
            return list(session.scalars(select(PageView.ip_truncated)))

    wait_for(lambda: len(stored()) >= 3, "the page-view batch to be written")
    truncated = stored()
    engine.dispose()
    assert truncated == ["203.0.113.0"] * 3
    blobs = [read_out_of_process(p) for p in db_file.parent.glob("schutz.db*")]
    assert FULL_IP.encode() not in b"".join(blobs)
    assert b"203.0.113.0" in b"".join(blobs)
    assert FULL_IP not in log.read_text()
    assert "POST /api/v1/collect" in log.read_text()  # the access log was on


def test_the_page_view_table_cannot_join_a_subject(session: Session) -> None:
    columns = set(PageView.__table__.columns.keys())

    assert columns == {"id", "at", "path", "referrer", "ip_truncated", "visitor_id", "site", "utm"}
    assert not PageView.__table__.foreign_keys
