"""Liveness answers without the database; readiness answers for it."""

from __future__ import annotations

import logging

import pytest
from fastapi import FastAPI

from schutz.db import make_engine, make_session_factory
from webapp import TestClient

UNREACHABLE = "postgresql+psycopg://nobody:secret-pw@127.0.0.1:1/none"


def test_liveness_and_readiness_answer_while_the_database_does(client: TestClient) -> None:
    live = client.get("/healthz")
    ready = client.get("/readyz")
    assert (live.status_code, live.json()) == (200, {"status": "ok"})
    assert (ready.status_code, ready.json()) == (200, {"status": "ready"})
    assert live.headers["Cache-Control"] == "no-store"
    assert live.headers["X-Content-Type-Options"] == "nosniff"


def test_a_database_outage_makes_the_process_unready_but_not_dead(
    app: FastAPI, client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    app.state.sessions = make_session_factory(make_engine(UNREACHABLE))
    with caplog.at_level(logging.WARNING, logger="schutz.health"):
        ready = client.get("/readyz")
    assert (ready.status_code, ready.json()) == (503, {"status": "database unavailable"})
    assert client.get("/healthz").status_code == 200
    assert "secret-pw" not in caplog.text
    assert "not ready" in caplog.text
