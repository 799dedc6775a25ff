"""`schutz recipients set|list`: policy recipients only, refusals audited, clear one-line errors."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner, Result

from schutz.audit.models import AuditEntry
from schutz.cli import recipients
from schutz.cli.context import CliState
from schutz.disclosures.models import RecipientEndpoint

from .builders import secret_file

Run = Callable[..., Result]


@pytest.fixture
def run(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Run]:
    monkeypatch.setenv("SCHUTZ_DATABASE_URL", db_url)

    states: list[CliState] = []

    def invoke(*args: str) -> Result:
        states.append(CliState(data_dir=tmp_path / "data"))
        return CliRunner().invoke(recipients.app, list(args), obj=states[-1])

    yield invoke
    for state in states:
        if "engine" in state.__dict__:
            state.engine.dispose()


def test_set_then_list_shows_the_endpoint(run: Run, session: Session, tmp_path: Path) -> None:
    path = secret_file(tmp_path)
    done = run("set", "bank", "--url", "https://bank.example/hook", "--secret-file", str(path))

    assert done.exit_code == 0, done.output
    listed = run("list")
    assert listed.exit_code == 0
    lines = {line.split()[0]: line for line in listed.output.splitlines()}
    assert "https://bank.example/hook" in lines["bank"]
    assert "not configured" in lines["freight_carrier"]
    assert session.get(RecipientEndpoint, "bank") is not None


def test_a_recipient_outside_the_policy_is_refused_and_audited(
    run: Run, session: Session, tmp_path: Path
) -> None:
    path = secret_file(tmp_path)
    done = run("set", "data_broker", "--url", "https://x.example/", "--secret-file", str(path))

    assert done.exit_code != 0
    assert isinstance(done.exception, Exception)
    assert "not a processor named in the policy" in str(done.exception)
    refused = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "disclosure.endpoint_refused")
    ).all()
    assert len(refused) == 1


def test_a_world_readable_secret_file_is_refused(run: Run, tmp_path: Path) -> None:
    path = secret_file(tmp_path)
    path.chmod(0o644)
    done = run("set", "bank", "--url", "https://bank.example/", "--secret-file", str(path))

    assert done.exit_code != 0
    assert "chmod 600" in str(done.exception)
