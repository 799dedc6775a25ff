"""Real servers for tests: a free port, a migrated SQLite file, a uvicorn serving Schutz.

A plain module (tests/ is on sys.path); `uvicorn_serving` is what the browser, scan and
analytics tests start, `wait_until_healthy` what the crash tests' restartable server uses.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

from schutz.db import make_engine, migrate

STARTUP_SECONDS = 30.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def migrated_sqlite_url(data_dir: Path) -> str:
    """The URL of `data_dir`/schutz.db, migrated to the newest schema."""
    url = f"sqlite:///{data_dir / 'schutz.db'}"
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()
    return url


def wait_until_healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    """Return once `url`/healthz answers 200; fail the test if the server exits or is slow."""
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
