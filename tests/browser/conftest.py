"""Browser-test fixtures: a real uvicorn server on 127.0.0.1 and Debian's Chromium.

`live_server` starts one `uvicorn` process per session on a free port, with its own data
directory and a migrated SQLite database, and yields its base URL. `page` is a fresh
Playwright page (own context: no cookies, no cache) in a headless Chromium that resolves
no host but 127.0.0.1, so a stray third-party request fails instead of leaving the machine.
Without /usr/bin/chromium the tests skip, except in CI (CI=true), where that is a failure.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from schutz.db import make_engine, migrate

CHROMIUM = Path(os.environ.get("SCHUTZ_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
]
IN_CI = os.environ.get("CI", "").lower() == "true"
STARTUP_SECONDS = 30.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_until_healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"uvicorn exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=1) as response:  # noqa: S310 - our own http://127.0.0.1 URL
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    pytest.fail(f"uvicorn did not answer /healthz within {STARTUP_SECONDS}s:\n{log.read_text()}")


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL (http://127.0.0.1:PORT) of a real uvicorn serving Schutz for this session."""
    data_dir = tmp_path_factory.mktemp("live")
    database_url = f"sqlite:///{data_dir / 'schutz.db'}"
    engine = make_engine(database_url)
    migrate(engine)
    engine.dispose()
    port = _free_port()
    env = {
        **os.environ,
        "SCHUTZ_DATA_DIR": str(data_dir),
        "SCHUTZ_DATABASE_URL": database_url,
        "SCHUTZ_BASE_URL": f"http://127.0.0.1:{port}",
    }
    log = data_dir / "uvicorn.log"
    argv = [
        sys.executable, "-m", "uvicorn", "--factory", "schutz.web.app:create_app",
        "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
    ]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_healthy(base_url, process, log)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One headless Debian Chromium for the session, driven by Playwright."""
    if not CHROMIUM.exists():
        message = f"Chromium not found at {CHROMIUM}"
        if IN_CI:
            pytest.fail(f"{message}; browser tests are required in CI")
        pytest.skip(message)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A page in a fresh context: a first-time visitor with no cookies and no cache."""
    context = browser.new_context(locale="en-GB", java_script_enabled=True)
    new_page = context.new_page()
    yield new_page
    context.close()
