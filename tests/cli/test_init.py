"""`schutz init` and the CLI's manners: idempotent setup, one-line errors, no tracebacks."""

import os
import sqlite3
import subprocess
import sys
from pathlib import Path


def schutz(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "schutz", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
        check=False,
    )


def test_init_creates_the_schema_and_is_safe_to_run_twice(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = schutz("--data-dir", str(data), "init")
    second = schutz("--data-dir", str(data), "init")
    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    with sqlite3.connect(data / "schutz.db") as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    assert "alembic_version" in tables


def test_init_honours_the_data_dir_environment_variable(tmp_path: Path) -> None:
    data = tmp_path / "from-env"
    result = schutz("init", env={"SCHUTZ_DATA_DIR": str(data)})
    assert result.returncode == 0, result.stderr
    assert (data / "schutz.db").exists()


def test_an_unknown_command_is_one_clear_error_without_traceback(tmp_path: Path) -> None:
    result = schutz("--data-dir", str(tmp_path), "frobnicate")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "frobnicate" in result.stderr


def test_data_dir_is_accepted_after_the_command_name_as_the_readme_says(tmp_path: Path) -> None:
    """Issue 17, defect 10: `schutz init --data-dir X` was "No such option"."""
    after = tmp_path / "after"
    nested = tmp_path / "nested"
    first = schutz("init", "--data-dir", str(after))
    assert first.returncode == 0, first.stderr
    assert (after / "schutz.db").exists()
    # A sub-command of a group too, and the later option wins over the earlier one.
    schutz("init", "--data-dir", str(nested))
    checked = schutz(
        "--data-dir", str(tmp_path / "unused"), "audit", "verify", "--data-dir", str(nested)
    )
    assert checked.returncode == 0, checked.stderr
    assert "intact" in checked.stdout
    assert not (tmp_path / "unused").exists()
    shown = schutz("init", "--help")
    assert "--data-dir" in shown.stdout
