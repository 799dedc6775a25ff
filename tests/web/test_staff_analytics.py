"""/staff/analytics (SVG charts, no chart library) and GET /api/v1/analytics/summary."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi import FastAPI

from schutz.analytics.service import page_view, store_page_views
from schutz.clock import utcnow
from schutz.db import transaction
from schutz.identity.service import add_staff, create_api_key, start_session
from schutz.web.auth import SESSION_COOKIE
from webapp import TestClient


@pytest.fixture
def app(app: FastAPI) -> FastAPI:
    """The shared app (tests/conftest.py) with three page views stored."""
    now = utcnow()
    with transaction(app.state.sessions) as session:
        views = [
            page_view(
                path=p, referrer=r, ip="192.0.2.7", visitor_id=v, now=now - timedelta(hours=h)
            )
            for p, r, v, h in [
                ("/privacy", "https://search.example/", "A" * 22, 1),
                ("/shop", None, "A" * 22, 2),
                ("/shop", None, "B" * 22, 30),
            ]
        ]
        store_page_views(session, [v for v in views if v is not None])
    return app


def staff_client(app: FastAPI, role: str) -> TestClient:
    with transaction(app.state.sessions) as session:
        user = add_staff(
            session, email=f"{role}@shop.example", role=role, password="a long enough secret",
            actor="cli", now=utcnow(),
        )  # fmt: skip
        _row, token = start_session(session, user, now=utcnow())
    client = TestClient(app, follow_redirects=False)
    client.cookies.set(SESSION_COOKIE, token)
    return client


def api_key(app: FastAPI, role: str) -> dict[str, str]:
    with transaction(app.state.sessions) as session:
        _key, plaintext = create_api_key(
            session, name=f"k-{role}", role=role, actor="cli", now=utcnow()
        )
    return {"Authorization": f"Bearer {plaintext}"}


@pytest.mark.parametrize("lang", ["en", "de"])
def test_the_report_draws_svg_charts_on_the_server(app: FastAPI, lang: str) -> None:
    with staff_client(app, "marketing") as client:
        page = client.get(f"/staff/analytics?lang={lang}")

    assert page.status_code == 200
    assert page.text.count("<svg") == 5
    assert "/privacy" in page.text
    assert "search.example/" in page.text
    assert '<script src="http' not in page.text
    assert ("Besuche pro Tag" if lang == "de" else "Visits per day") in page.text


def test_the_report_is_closed_to_other_roles_and_to_visitors(app: FastAPI) -> None:
    with staff_client(app, "fulfilment") as client:
        assert client.get("/staff/analytics").status_code == 403
    with TestClient(app, follow_redirects=False) as anonymous:
        assert anonymous.get("/staff/analytics").status_code == 303


def test_the_summary_api_gives_the_same_figures(app: FastAPI) -> None:
    with TestClient(app) as client:
        denied = client.get("/api/v1/analytics/summary", headers=api_key(app, "shop"))
        response = client.get("/api/v1/analytics/summary?days=7", headers=api_key(app, "dpo"))

    assert denied.status_code == 403
    data = response.json()
    assert data["page_views"] == 3
    assert data["visitors"] == 2
    assert {p["path"] for p in data["top_paths"]} == {"/privacy", "/shop"}
    assert len(data["hours"]) == 24
    assert len(data["daily"]) == 7
    assert "ip_truncated" not in response.text


def test_a_reversed_period_is_a_clear_422(app: FastAPI) -> None:
    with TestClient(app) as client:
        response = client.get(
            "/api/v1/analytics/summary?start=2026-11-20&end=2026-11-01",
            headers=api_key(app, "admin"),
        )

    assert response.status_code == 422
    assert "start" in response.json()["detail"]
