"""/metrics access and content, request ids, and the JSON log format."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator

import pytest

from schutz.config import Settings
from schutz.logging_config import JsonFormatter, logging_config
from schutz.web.app import create_app
from webapp import TestClient


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings.model_copy(update={"metrics_token": "scrape-secret-123"}))
    with TestClient(app) as client:
        yield client
    app.state.engine.dispose()


def test_metrics_need_a_local_peer_or_the_token(client: TestClient) -> None:
    assert client.get("/metrics").status_code == 403  # the test client is no local address
    wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 403
    client.get("/privacy")
    ok = client.get("/metrics", headers={"Authorization": "Bearer scrape-secret-123"})
    assert ok.status_code == 200
    assert ok.headers["content-type"].startswith("text/plain")
    assert 'schutz_http_requests_total{method="GET",route="/privacy",status="200"} 1.0' in ok.text
    assert "schutz_requests_open 0.0" in ok.text
    assert 'schutz_dead_letters{kind="disclosure"} 0.0' in ok.text


def test_unknown_paths_share_one_label(client: TestClient) -> None:
    for n in range(3):
        client.get(f"/no-such-page-{n}")
    text = client.get("/metrics", headers={"Authorization": "Bearer scrape-secret-123"}).text
    assert 'route="unmatched",status="404"} 3.0' in text
    assert "no-such-page" not in text


def test_every_answer_carries_a_request_id(client: TestClient) -> None:
    first = client.get("/healthz").headers["X-Request-ID"]
    assert len(first) == 16
    assert client.get("/healthz").headers["X-Request-ID"] != first
    # A client's own id would go into the log as it is: only a trusted proxy's is kept.
    stranger = client.get("/healthz", headers={"X-Request-ID": "ErikaMustermann"})
    assert stranger.headers["X-Request-ID"] != "ErikaMustermann"
    state = client.app.state  # type: ignore[attr-defined]
    settings = state.settings
    state.settings = settings.model_copy(update={"trusted_proxies": "testclient"})
    given = client.get("/healthz", headers={"X-Request-ID": "proxy-abc-12345"})
    state.settings = settings
    assert given.headers["X-Request-ID"] == "proxy-abc-12345"
    forged = client.get("/healthz", headers={"X-Request-ID": "<script>alert(1)</script>"})
    assert forged.headers["X-Request-ID"] != "<script>alert(1)</script>"


def test_a_log_line_is_json_and_drops_exception_messages() -> None:
    try:
        raise ValueError("ada@example.org is not valid")
    except ValueError:
        record = logging.LogRecord(
            "schutz.web", logging.ERROR, __file__, 1, "failed %s", ("once",), sys.exc_info()
        )
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "failed once"
    assert line["exception"] == "ValueError"
    assert line["level"] == "error"
    assert "ada@example.org" not in json.dumps(line)


def test_chatty_libraries_stay_quiet_at_debug() -> None:
    config = logging_config("debug")
    assert config["loggers"]["schutz"]["level"] == "DEBUG"
    for name in ("sqlalchemy", "multipart", "httpx"):
        assert config["loggers"][name]["level"] == "WARNING"
    with pytest.raises(ValueError, match="log level"):
        logging_config("chatty")
