"""A fresh Schutz installation per example, driven only through its stable contracts.

HTTP (an in-process ASGI client on `create_app`), the command line (Typer's CliRunner on the
`schutz` app: `init`, `apikey create`, `staff add`, `worker --once`, `backup`, `restore`,
`retention run`, `audit verify`) and the files in the data directory. The only internal
hook is the clock: `schutz.clock.utcnow` reads the name `datetime` of its module at every
call, so replacing that name moves "now" for every caller at once.
"""

from __future__ import annotations

import gc
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import sqlalchemy as sa
from typer.testing import CliRunner

import schutz.clock
from schutz.cli.main import app as cli_app
from schutz.config import Settings
from schutz.web.app import create_app

with warnings.catch_warnings():
    warnings.simplefilter("ignore", UserWarning)
    from fastapi.testclient import TestClient

START = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)


class Clock:
    """The fixed clock the machine advances; installed over `schutz.clock`'s `datetime`."""

    now = START

    @classmethod
    def install(cls) -> None:
        real = datetime

        class Fixed(real):  # type: ignore[misc,valid-type]
            @classmethod
            def now(cls_, tz: Any = None) -> datetime:  # noqa: N804 - classmethod of a local class
                return Clock.now if tz is None else Clock.now.astimezone(tz)

        if getattr(schutz.clock, "datetime", None) is None:
            raise RuntimeError("schutz.clock no longer reads `datetime`; update the prove clock")
        setattr(schutz.clock, "datetime", Fixed)  # noqa: B010 - replaces the module's name
        cls.now = START

    @classmethod
    def uninstall(cls) -> None:
        """Give `schutz.clock` the real `datetime` back: a clock left fixed after the machine
        would date every later test's tokens at START, hours in the past on the day of START."""
        setattr(schutz.clock, "datetime", datetime)  # noqa: B010 - restores the module's name

    @classmethod
    def advance(cls, days: int) -> None:
        cls.now += timedelta(days=days)


# The scan runs in a child process: closing any descriptor of a SQLite file in this process
# would drop the locks its connections hold (see tests/sqlite_files.py).
_SCAN = r"""
import os, sys
root, markers = sys.argv[1], sys.stdin.read().split()
hits = set()
for folder, _, names in os.walk(root):
    for name in names:
        if name.endswith(".eml"):
            continue
        path = os.path.join(folder, name)
        try:
            data = open(path, "rb").read()
        except OSError:
            continue
        for m in markers:
            if m.encode() in data:
                hits.add(f"{m} in {os.path.relpath(path, root)}")
print("\n".join(sorted(hits)))
"""


def plaintext_hits(data_dir: Path, markers: list[str]) -> list[str]:
    """Which markers rest in plaintext in any file of `data_dir` (delivered .eml aside)."""
    if not markers:
        return []
    out = subprocess.run(
        [sys.executable, "-c", _SCAN, str(data_dir)],
        input="\n".join(markers),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [line for line in out.splitlines() if line]


class Install:
    """One Schutz installation: data directory, database, API keys, an HTTP client."""

    def __init__(self, template: Path, database_url: str) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="schutz-prove-"))
        self.data_dir = self.root / "data"
        shutil.copytree(template, self.data_dir)
        os.chmod(self.data_dir, 0o700)
        if database_url.startswith("sqlite"):
            database_url = f"sqlite:///{self.data_dir / 'schutz.db'}"
        else:
            empty_tables(database_url)
        self.database_url = database_url
        self.env = {
            "SCHUTZ_DATA_DIR": str(self.data_dir),
            "SCHUTZ_DATABASE_URL": database_url,
            "SCHUTZ_BASE_URL": "http://testserver",
        }
        self.settings = Settings(
            data_dir=self.data_dir, database_url=database_url, base_url="http://testserver"
        )
        self.runner = CliRunner()
        roles = ("shop", "support", "fulfilment", "marketing", "dpo", "admin")
        self.keys = {role: self.api_key(role) for role in roles}
        self._open()
        self.backups: list[Path] = []

    def _open(self) -> None:
        self.app = create_app(self.settings)
        self.client = TestClient(self.app, follow_redirects=False)
        self.client.__enter__()

    def _close(self) -> None:
        self.client.__exit__(None, None, None)
        buffer = getattr(self.app.state, "analytics_buffer", None)
        if buffer is not None:
            buffer.close()
        self.app.state.engine.dispose()

    def close(self) -> None:
        self._close()
        if not self.database_url.startswith("sqlite"):
            empty_tables(self.database_url)  # the session's schema is shared with other tests
        shutil.rmtree(self.root, ignore_errors=True)
        with warnings.catch_warnings():  # engines the CLI left behind (see `cli`)
            warnings.simplefilter("ignore", ResourceWarning)
            gc.collect()

    @contextmanager
    def stopped(self) -> Iterator[None]:
        """The app closed (its engine disposed) while a restore replaces the database."""
        self._close()
        try:
            yield
        finally:
            self._open()

    # -- the command line ---------------------------------------------------------------
    def cli(self, *args: str, input: str | None = None) -> tuple[int, str]:
        # The CLI sets up logging on the runner's captured streams; put back what was there,
        # or the app's next log line would go to a closed file.
        kept = _logging_state()
        try:
            result = self.runner.invoke(cli_app, list(args), env=self.env, input=input)
        finally:
            _restore_logging(kept)
        out = result.output
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            out += f"\n{type(result.exception).__name__}: {result.exception}"
        return result.exit_code, out

    def api_key(self, role: str) -> str:
        code, out = self.cli("apikey", "create", "--name", f"prove-{role}", "--role", role)
        assert code == 0, out
        return out.strip().splitlines()[-1]

    def worker(self) -> None:
        code, out = self.cli("worker", "--once")
        assert code == 0, out

    def audit_entries(self) -> int:
        """`schutz audit verify`: the chain must verify; returns its length."""
        code, out = self.cli("audit", "verify")
        assert code == 0, f"audit chain broken: {out}"
        found = re.search(r"(\d+) entr", out)
        assert found is not None, out
        return int(found.group(1))

    # -- HTTP -----------------------------------------------------------------------------
    def headers(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}"}

    def form_token(self, path: str) -> str:
        page = self.client.get(path)
        found = re.search(r'name="form_token" value="([^"]+)"', page.text)
        assert found is not None, (path, page.status_code)
        return found.group(1)

    # -- mail ------------------------------------------------------------------------------
    def mails(self) -> list[tuple[str, str, str]]:
        """(file name, To, subject + plain body) of every delivered .eml, oldest first."""
        outbox = self.data_dir / "outbox"
        found = []
        files = sorted(outbox.glob("*.eml"), key=lambda p: (p.stat().st_mtime_ns, p.name))
        for path in files if outbox.is_dir() else []:
            mail = message_from_bytes(path.read_bytes(), policy=policy.default)
            body = mail.get_body(preferencelist=("plain",))
            text = body.get_content() if body is not None else ""
            found.append((path.name, str(mail["To"]), f"{mail['Subject']}\n{text}"))
        return found

    def link_for(self, address: str, path: str) -> str | None:
        """The token of the newest link to `path` mailed to `address`."""
        for _, to, text in reversed(self.mails()):
            if to == address:
                found = re.search(re.escape(path) + r"\?token=([^\s>\"]+)", text)
                if found is not None:
                    return unquote(found.group(1))
        return None


def _logging_state() -> dict[str, tuple[list[logging.Handler], int, bool]]:
    names = ["", *logging.Logger.manager.loggerDict]
    out = {}
    for name in names:
        logger = logging.getLogger(name)
        out[name] = (list(logger.handlers), logger.level, logger.propagate)
    return out


def _restore_logging(kept: dict[str, tuple[list[logging.Handler], int, bool]]) -> None:
    for name in ["", *logging.Logger.manager.loggerDict]:
        logger = logging.getLogger(name)
        handlers, level, propagate = kept.get(name, ([], logging.NOTSET, True))
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate = propagate


def empty_tables(database_url: str) -> None:
    """Every table emptied (the schema and its migration stamp stay), by reflection."""
    engine = sa.create_engine(database_url)
    meta = sa.MetaData()
    meta.reflect(engine)
    with engine.begin() as conn:
        for table in reversed(meta.sorted_tables):
            if table.name != "alembic_version":
                conn.execute(table.delete())
    engine.dispose()


def make_template(root: Path, database_url: str | None) -> Path:
    """A data directory after `schutz init` (SQLite by default, or on `database_url`)."""
    data_dir = root / "template"
    env = {"SCHUTZ_DATA_DIR": str(data_dir)}
    if database_url is not None:
        env["SCHUTZ_DATABASE_URL"] = database_url
    result = CliRunner().invoke(cli_app, ["init"], env=env)
    assert result.exit_code == 0, result.output
    with warnings.catch_warnings():  # the engine `init` left behind (see `Install.cli`)
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()
    return data_dir
