"""The edge's plain routes and FastAPI's telemetry bridge (issue #16: speed at the edge)."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from opentelemetry import trace
from prometheus_client.exposition import generate_latest

from webapp import TestClient


def test_the_beacon_is_served_by_its_plain_route_and_still_documented(
    app: FastAPI, client: TestClient
) -> None:
    first = app.router.routes[1]
    assert (getattr(first, "path", None), getattr(first, "methods", None)) == (
        "/api/v1/collect",
        {"POST"},
    )
    assert client.post("/api/v1/collect", json={"path": "/shop"}).status_code == 204
    wrong = client.get("/api/v1/collect")
    assert wrong.status_code == 405
    assert wrong.headers["content-type"].startswith("application/json")
    documented = client.get("/api/v1/openapi.json").json()["paths"]["/api/v1/collect"]
    assert "post" in documented
    # Counted under its route template, like every FastAPI route (not under "mount").
    counted = generate_latest(app.state.metrics_registry).decode()
    assert 'method="POST",route="/api/v1/collect",status="204"' in counted
    assert 'method="GET",route="/api/v1/collect",status="405"' in counted


def test_fastapis_telemetry_stays_off_when_a_library_installs_a_tracer(
    app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """FastAPI would hand exception messages (which can quote a request's values) to any
    OpenTelemetry provider set up in the process; Schutz keeps its own metrics instead."""

    class InstalledProvider(trace.NoOpTracerProvider):
        """A provider FastAPI takes for a configured one (not its deferred proxy)."""

    monkeypatch.setattr(trace, "get_tracer_provider", InstalledProvider)
    assert FastAPI()._native_telemetry.enabled()  # the default would report to it
    assert not app._native_telemetry.enabled()
