"""Real servers for tests: a free port, a migrated SQLite file, a uvicorn serving Schutz.

A plain module (tests/ is on sys.path); `uvicorn_serving` is what the browser, scan and
analytics tests start, `wait_until_healthy` what the crash tests' restartable server uses.
Both call `require_mark("slow")`: a test that starts a real server without the marker fails
instead of slipping into a `-m "not slow"` run. `wait_for` polls a condition instead of
sleeping a guessed time.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Playwright

from sqlite_files import fresh_sqlite

STARTUP_SECONDS = 30.0
WAIT_SECONDS = 20.0

running_marks: set[str] = set()
"""The markers of the test being set up or run (tests/conftest.py keeps this current)."""


def require_mark(mark: str, what: str) -> None:
    """Fail the running test unless it carries `mark`; `what` says what needed it."""
    if mark not in running_marks:
        pytest.fail(
            f"this test {what} but is not marked {mark!r}: take a fixture that tests/conftest.py"
            f" marks, or add @pytest.mark.{mark}",
            pytrace=False,
        )


def wait_for(condition: Callable[[], bool], what: str, seconds: float = WAIT_SECONDS) -> None:
    """Return as soon as `condition()` holds; fail the test naming `what` after `seconds`."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"waited {seconds:.0f} s for {what}")
        time.sleep(0.05)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def migrated_sqlite_url(data_dir: Path) -> str:
    """The URL of `data_dir`/schutz.db, migrated to the newest schema."""
    return fresh_sqlite(data_dir / "schutz.db")


def wait_until_healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    """Return once `url`/healthz answers 200; fail the test if the server exits or is slow."""
    require_mark("slow", "starts a real server")
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
        time.sleep(0.05)
    pytest.fail(f"uvicorn did not answer /healthz within {STARTUP_SECONDS}s:\n{log.read_text()}")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def uvicorn_serving(
    data_dir: Path,
    database_url: str,
    *,
    port: int | None = None,
    log: Path | None = None,
    args: Sequence[str] = ("--log-level", "warning"),
) -> Iterator[str]:
    """A uvicorn running `schutz.web.app:create_app` on 127.0.0.1 with SCHUTZ_DATA_DIR,
    SCHUTZ_DATABASE_URL and SCHUTZ_BASE_URL set; yields the base URL once /healthz answers.
    Its output goes to `log` (default `data_dir`/uvicorn.log); it is stopped afterwards."""
    require_mark("slow", "starts a real server")
    port = free_port() if port is None else port
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "SCHUTZ_DATA_DIR": str(data_dir),
        "SCHUTZ_DATABASE_URL": database_url,
        "SCHUTZ_BASE_URL": base,
    }
    argv = [
        sys.executable, "-m", "uvicorn", "--factory", "schutz.web.app:create_app",
        "--host", "127.0.0.1", "--port", str(port), *args,
    ]  # fmt: skip
    log = data_dir / "uvicorn.log" if log is None else log
    with log.open("wb") as out:
        process = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_until_healthy(base, process, log)
        yield base
    finally:
        stop(process)


CHROMIUM = Path(os.environ.get("SCHUTZ_CHROMIUM", "/usr/bin/chromium"))


@contextmanager
def chromium_launched(driver: Playwright, args: Sequence[str]) -> Iterator[Browser]:
    """Debian's Chromium with `args`; a missing one fails the test in CI and skips it elsewhere."""
    if not CHROMIUM.exists():
        message = f"Chromium not found at {CHROMIUM}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{message}; browser tests are required in CI")
        pytest.skip(message)
    browser = driver.chromium.launch(executable_path=str(CHROMIUM), args=list(args))
    try:
        yield browser
    finally:
        browser.close()
