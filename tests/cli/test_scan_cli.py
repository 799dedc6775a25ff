"""`schutz scan`: Schutz itself passes; a page with an undeclared cookie or a remote script
fails with exit 1 and names them."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from live import migrated_sqlite_url, uvicorn_serving
from schutz.config import BUNDLED_POLICY_DIR
from schutz.policy.loader import load_policy_set
from schutz.scan.report import Phase, Seen, judge

CHROMIUM = Path(os.environ.get("SCHUTZ_CHROMIUM", "/usr/bin/chromium"))
POLICY = load_policy_set(BUNDLED_POLICY_DIR).get("2026-11")

needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists() and os.environ.get("CI", "").lower() != "true",
    reason=f"Chromium not found at {CHROMIUM}",
)


HARNESS = (
    "import typer\n"
    "from schutz.cli import scan\n"
    "app = typer.Typer()\n"
    "scan.register(app)\n"
    "app.callback()(lambda: None)\n"
    "app()\n"
)


def run_scan(*args: str) -> tuple[int, str]:
    """Run `schutz scan` in its own process, as an operator's CI would (and so that its
    Playwright does not meet the browser tests' one in this process)."""
    done = subprocess.run(
        [sys.executable, "-c", HARNESS, "scan", *args],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    return done.returncode, done.stdout + done.stderr


def test_the_judge_names_each_kind_of_violation() -> None:
    seen = [
        Seen("http://shop.example/", Phase.BEFORE, ("schutz_consent", "schutz_vid", "_ga"),
             ("http://shop.example/a.css", "https://cdn.tracker.example/t.js")),
        Seen("http://shop.example/", Phase.AFTER, ("schutz_vid",),
             ("https://www.facebook.com/plugins/page.php",)),
    ]  # fmt: skip

    lines = [f.line() for f in judge(POLICY, seen) if f.violation]

    assert any("undeclared cookie: _ga" in line for line in lines)
    assert any("cookie set before consent: schutz_vid" in line for line in lines)
    assert any("before consent: cdn.tracker.example" in line for line in lines)
    assert not any("facebook" in line for line in lines)  # after accepting it is allowed


@pytest.fixture(scope="module")
def schutz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data_dir = tmp_path_factory.mktemp("scan-live")
    with uvicorn_serving(data_dir, migrated_sqlite_url(data_dir)) as base:
        yield base


class BadPage(BaseHTTPRequestHandler):
    """A page that does what a careless shop does: a tracking cookie and a remote script."""

    def do_GET(self) -> None:
        body = (
            b"<!doctype html><title>bad</title><h1>Shop</h1>"
            b'<script src="https://cdn.tracker.example/t.js"></script>'
        )
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Set-Cookie", "tracker_id=abc123; Path=/; Max-Age=31536000")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def bad_page() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BadPage)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.browser
@needs_chromium
def test_schutz_itself_passes_the_scan(schutz_server: str) -> None:
    code, output = run_scan(
        f"{schutz_server}/privacy", f"{schutz_server}/social-demo", f"{schutz_server}/cookies",
        "--offline",
    )  # fmt: skip

    assert code == 0, output
    assert "clicked the banner's accept button" in output
    assert "ok: no violation" in output


@pytest.mark.browser
@needs_chromium
def test_an_undeclared_cookie_and_a_remote_script_fail_the_scan(bad_page: str) -> None:
    code, output = run_scan(bad_page, "--offline")

    assert code == 1, output
    assert "undeclared cookie: tracker_id" in output
    assert "third-party request before consent: cdn.tracker.example" in output


def test_a_url_that_is_not_http_is_a_clear_error() -> None:
    code, output = run_scan("ftp://example.org/")

    assert code == 2
    assert "not an http(s) URL" in output
