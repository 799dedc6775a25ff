"""`schutz serve --workers N` needs PostgreSQL: on SQLite it says so and serves nothing."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from schutz.cli.context import CliState
from schutz.cli.main import app


def test_several_workers_on_sqlite_are_refused_with_a_reason(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["serve", "--workers", "2", "--port", "1"],
        obj=CliState(data_dir=tmp_path / "data"),
        env={"SCHUTZ_DATABASE_URL": ""},
    )

    assert result.exit_code == 2
    assert "--workers above 1 needs PostgreSQL" in result.output
    assert not (tmp_path / "data").exists()  # refused before anything was created
