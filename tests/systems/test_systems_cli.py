"""`schutz systems set|list`: only systems the policy names; a refusal is audited."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner, Result

from schutz.audit.models import AuditEntry
from schutz.cli import systems
from schutz.cli.context import CliState
from schutz.systems.models import SystemEndpoint
from systems.builders import policy_with_systems, secret_file

Run = Callable[..., Result]


@pytest.fixture
def run(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Run]:
    monkeypatch.setenv("SCHUTZ_DATABASE_URL", db_url)
    monkeypatch.setenv("SCHUTZ_POLICY", str(policy_with_systems(tmp_path / "policy")))
    states: list[CliState] = []

    def invoke(*args: str) -> Result:
        states.append(CliState(data_dir=tmp_path / "data"))
        return CliRunner().invoke(systems.app, list(args), obj=states[-1])

    yield invoke
    for state in states:
        if "engine" in state.__dict__:
            state.engine.dispose()


def test_set_then_list_shows_the_system(run: Run, session: Session, tmp_path: Path) -> None:
    path = secret_file(tmp_path)
    url = "https://shop.example/schutz/events"
    done = run("set", "shop_database", "--url", url, "--secret-file", str(path))

    assert done.exit_code == 0, done.output
    listed = run("list")
    assert "shop_database" in listed.output
    assert url in listed.output
    row = session.get(SystemEndpoint, "shop_database")
    assert row is not None
    assert row.secret_file == str(path.resolve())


def test_a_system_the_policy_does_not_name_is_refused_and_audited(
    run: Run, session: Session, tmp_path: Path
) -> None:
    path = secret_file(tmp_path)
    done = run("set", "crm", "--url", "https://crm.example/hook", "--secret-file", str(path))

    assert done.exit_code != 0
    assert session.get(SystemEndpoint, "crm") is None
    actions = session.scalars(select(AuditEntry.action)).all()
    assert "system.endpoint_refused" in actions
