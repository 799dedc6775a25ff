"""Real processes for crash tests: a uvicorn serving Schutz, started, SIGKILLed, restarted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from live import free_port, wait_until_healthy
from schutz.config import Settings


def schutz_env(settings: Settings) -> dict[str, str]:
    return {
        **os.environ,
        "SCHUTZ_DATA_DIR": str(settings.data_dir),
        "SCHUTZ_DATABASE_URL": settings.resolved_database_url,
    }


@dataclass
class Server:
    """One uvicorn process at a time on a fixed port; `kill()` is SIGKILL, nothing graceful."""

    settings: Settings
    log: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        argv = [
            sys.executable, "-m", "uvicorn", "--factory", "schutz.web.app:create_app",
            "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning",
        ]  # fmt: skip
        env = {**schutz_env(self.settings), "SCHUTZ_BASE_URL": self.url}
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)
        wait_until_healthy(self.url, self.process, self.log)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def server(settings: Settings, tmp_path: Path) -> Iterator[Server]:
    running = Server(settings, tmp_path / "uvicorn.log")
    try:
        yield running
    finally:
        running.stop()
