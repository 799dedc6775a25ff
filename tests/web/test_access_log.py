"""The access log: one JSON line per answer, read the same however it is built; probes that
succeed are counted but not logged; the liveness probe skips the inner stack, not its headers."""

from __future__ import annotations

import io
import json
import logging
import sys
from datetime import UTC, datetime

import pytest

from schutz.config import Settings
from schutz.db import make_engine, make_session_factory
from schutz.logging_config import BatchingStreamHandler, JsonFormatter, ProbeFilter
from schutz.web.app import create_app
from webapp import TestClient

UNREACHABLE = "postgresql+psycopg://nobody:secret-pw@127.0.0.1:1/none"


def _access(route: str, status: int, request_id: str = "0123456789abcdef") -> logging.LogRecord:
    record = logging.LogRecord(
        "schutz.access", logging.INFO, __file__, 1, "%s %s %s", ("GET", route, status), None
    )
    record.__dict__.update(
        method="GET", route=route, status=status, duration_ms=12.35, request_id=request_id
    )
    return record


def test_an_access_line_reads_exactly_as_the_general_json_line() -> None:
    for route, request_id in [
        ("/api/v1/subjects/{subject_id}", "0123456789abcdef"),
        ('/odd "route" \\ ü', "proxy-abc-12345"),
    ]:
        record = _access(route, 200, request_id)
        expected = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": "info",
            "logger": "schutz.access",
            "message": f"GET {route} 200",
            "request_id": request_id,
            "method": "GET",
            "route": route,
            "status": 200,
            "duration_ms": 12.35,
        }
        assert JsonFormatter().format(record) == json.dumps(expected, ensure_ascii=False)


def test_probes_answered_well_are_not_logged_failures_are() -> None:
    keep = ProbeFilter().filter
    assert not keep(_access("/healthz", 200))
    assert not keep(_access("/readyz", 200))
    assert keep(_access("/readyz", 503))
    assert keep(_access("/privacy", 200))


def test_the_liveness_probe_is_counted_under_its_route_with_every_security_header(
    settings: Settings,
) -> None:
    app = create_app(settings.model_copy(update={"metrics_token": "scrape-secret-123"}))
    with TestClient(app) as client:
        live = client.get("/healthz")
        assert (live.status_code, live.json()) == (200, {"status": "ok"})
        assert live.headers["Content-Security-Policy"].startswith("default-src 'self'")
        assert live.headers["X-Frame-Options"] == "DENY"
        assert live.headers["Cache-Control"] == "no-store"
        assert client.post("/healthz").status_code == 405  # other methods reach the route
        app.state.sessions = make_session_factory(make_engine(UNREACHABLE))
        assert client.get("/healthz").status_code == 200  # no database involved
        metrics = client.get("/metrics", headers={"Authorization": "Bearer scrape-secret-123"})
    app.state.engine.dispose()
    counted = 'schutz_http_requests_total{method="GET",route="/healthz",status="200"} 2.0'
    assert counted in metrics.text


def test_the_log_is_written_in_batches_and_a_warning_at_once() -> None:
    """Under load one write per batch, not per request; a warning goes out with everything
    before it, in order, and what is held is written by `flush` (and so at exit)."""
    stream = io.StringIO()
    handler = BatchingStreamHandler(stream)
    handler.INTERVAL = 3600  # no write by time in this test; the ticker only flushes
    log = logging.getLogger("schutz.test.batching")
    log.addHandler(handler)
    log.propagate = False
    log.setLevel(logging.INFO)
    try:
        log.warning("first")  # a warning: written at once
        log.error("second")
        for n in range(3):
            log.info("held %d", n)
        assert stream.getvalue() == "first\nsecond\n"
        log.warning("third")
        assert stream.getvalue().splitlines() == [
            "first",
            "second",
            "held 0",
            "held 1",
            "held 2",
            "third",
        ]
        log.info("last")
        handler.flush()
        assert stream.getvalue().endswith("third\nlast\n")
    finally:
        log.removeHandler(handler)


def test_a_broken_stream_loses_lines_but_fails_nobody(monkeypatch: pytest.MonkeyPatch) -> None:
    """A closed pipe (a log shipper that died) must not raise into the request or the worker
    that logged, nor stop the ticker."""

    class Broken(io.StringIO):
        def write(self, _text: str) -> int:
            raise BrokenPipeError

        def flush(self) -> None:
            raise BrokenPipeError

    broken = Broken()
    monkeypatch.setattr(sys, "stderr", broken)
    handler = BatchingStreamHandler(broken)
    log = logging.getLogger("schutz.test.broken")
    log.addHandler(handler)
    log.propagate = False
    try:
        log.warning("written at once, into a broken pipe")
        log.error("and again")
        handler.flush()
    finally:
        log.removeHandler(handler)
