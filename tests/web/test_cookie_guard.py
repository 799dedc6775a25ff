"""The cookie guard: only declared cookies leave, with their lifetime, after consent (C14-C17)."""

from __future__ import annotations

import logging
import re

import pytest
from fastapi import FastAPI
from starlette.responses import Response

from schutz.cookies.undeclared import undeclared_rows
from webapp import TestClient, consent_cookie


@pytest.fixture
def app(app: FastAPI) -> FastAPI:
    """The shared app (tests/conftest.py) with a route that sets cookies of every kind."""

    @app.get("/test/sets-cookies")
    def sets_cookies() -> Response:
        response = Response("ok")
        response.set_cookie("tracker", "user@example.org")  # undeclared
        response.set_cookie("schutz_vid", "A" * 22, max_age=10**9)  # analytics
        response.set_cookie("schutz_session", "t", max_age=3600)  # essential, session
        return response

    return app


@pytest.fixture
def follow_redirects() -> bool:
    return False


def set_cookies(response: object) -> dict[str, str]:
    headers = response.headers.get_list("set-cookie")  # type: ignore[attr-defined]
    return {h.split("=", 1)[0]: h for h in headers}


def test_an_undeclared_cookie_is_dropped_and_reported_without_its_value(
    client: TestClient, app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="schutz.cookies"):
        response = client.get("/test/sets-cookies")

    sent = set_cookies(response)
    assert "tracker" not in sent
    with app.state.sessions() as session:
        rows = undeclared_rows(session)
    assert [(name, count, path) for name, count, path, _at in rows] == [
        ("tracker", 1, "/test/sets-cookies")
    ]
    assert "tracker" in caplog.text
    assert "user@example.org" not in caplog.text


def test_a_non_essential_cookie_waits_for_consent(client: TestClient) -> None:
    without = set_cookies(client.get("/test/sets-cookies"))
    client.cookies.set("schutz_consent", consent_cookie(analytics=True, embeds=False))
    with_consent = set_cookies(client.get("/test/sets-cookies"))

    assert "schutz_vid" not in without
    assert f"Max-Age={13 * 30 * 86400}" in with_consent["schutz_vid"]


def test_a_session_cookie_leaves_without_expiry(client: TestClient) -> None:
    header = set_cookies(client.get("/test/sets-cookies"))["schutz_session"]

    assert "max-age" not in header.lower()
    assert "expires" not in header.lower()


@pytest.mark.parametrize("path", ["/privacy", "/privacy/versions", "/cookies", "/social-demo"])
def test_a_first_visit_gets_no_cookie_at_all(client: TestClient, path: str) -> None:
    response = client.get(path)

    assert response.status_code == 200
    assert response.headers.get_list("set-cookie") == []


def test_no_cookie_ever_holds_personal_data(client: TestClient) -> None:
    """Walk through every cookie-setting flow; each value is a random id or a flag."""
    seen: list[str] = []
    headers = {"X-Forwarded-For": "203.0.113.77", "User-Agent": "Mozilla/5.0 test"}
    r = client.post("/cookies", data={"action": "accept", "next": "/privacy"}, headers=headers)
    seen += r.headers.get_list("set-cookie")
    r = client.post("/api/v1/collect", json={"path": "/privacy"}, headers=headers)
    seen += r.headers.get_list("set-cookie")
    r = client.post("/analytics/opt-out", data={"action": "out"}, headers=headers)
    seen += r.headers.get_list("set-cookie")
    r = client.post("/cookies", data={"action": "reject", "next": "/"}, headers=headers)
    seen += r.headers.get_list("set-cookie")

    values = [h.split(";", 1)[0].split("=", 1)[1].strip('"') for h in seen]
    assert values
    for value in values:
        assert re.fullmatch(
            r"[A-Za-z0-9_-]{22}\.[0-9A-Za-z._-]+\.(?:[aep][01])*|[A-Za-z0-9_-]{22}|1|", value
        ), value
        assert "203.0.113" not in value
        assert "@" not in value
