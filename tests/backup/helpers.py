"""`schutz backup`, `schutz restore`, `schutz staff` in tests: in process and as the real entry."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import typer
from sqlalchemy.orm import Session
from typer.testing import CliRunner, Result

from schutz.cli import backup, identity
from schutz.cli.context import CliState
from schutz.config import BUNDLED_POLICY_DIR, Settings
from schutz.policy.loader import load_policy_set
from schutz.vault import service
from schutz.vault.keys import load_keyring

NOW = datetime(2026, 11, 15, 10, 0, tzinfo=UTC)
RULES = load_policy_set(BUNDLED_POLICY_DIR).engine("2026-11")

# `schutz` with the backup commands: registered here until main.py registers them itself.
ENTRY = """
from schutz.cli import backup, main
names = {c.name or c.callback.__name__ for c in main.app.registered_commands}
if "backup" not in names:
    backup.register(main.app)
main.run()
"""


def cli_app() -> typer.Typer:
    app = typer.Typer(pretty_exceptions_enable=False)
    backup.register(app)
    app.add_typer(identity.staff_app, name="staff")
    return app


def invoke(settings: Settings, *args: str) -> Result:
    """`schutz ARGS` in process, on the test's data dir and database."""
    cli_state = CliState(data_dir=settings.data_dir)
    result = CliRunner().invoke(
        cli_app(),
        list(args),
        obj=cli_state,
        env={"SCHUTZ_DATABASE_URL": settings.resolved_database_url},
    )
    if "engine" in cli_state.__dict__:
        cli_state.engine.dispose()
    return result


def run_schutz(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    """`schutz ARGS` as a real process, through the console entry's error handling."""
    env = {
        **os.environ,
        "SCHUTZ_DATA_DIR": str(settings.data_dir),
        "SCHUTZ_DATABASE_URL": settings.resolved_database_url,
    }
    return subprocess.run(
        [sys.executable, "-c", ENTRY, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def add_customer(session: Session, settings: Settings, email: str, name: str) -> str:
    subject_id = service.intake(
        session,
        RULES,
        load_keyring(settings),
        source="order",
        purposes=["order_processing"],
        data={"email": email, "name": name},
        asserted_by="shop",
        actor="test",
        now=NOW,
    ).subject_id
    session.commit()
    return subject_id


def backup_to(settings: Settings, path: Path) -> Path:
    """`schutz backup --output PATH`; returns the path it printed last."""
    result = invoke(settings, "backup", "--output", str(path))
    assert result.exit_code == 0, result.output
    return Path(result.stdout.strip().splitlines()[-1])


def restore(settings: Settings, snapshot: Path) -> str:
    """`schutz restore SNAPSHOT`; returns its standard output."""
    result = invoke(settings, "restore", str(snapshot))
    assert result.exit_code == 0, result.output
    return result.stdout
