"""`schutz audit verify`: exit 0 with the count when intact, exit 1 naming the first bad entry."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from schutz.audit.service import record

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def schutz(db_url: str, data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "schutz", "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "SCHUTZ_DATABASE_URL": db_url},
        timeout=120,
        check=False,
    )


def _append(session: Session, n: int) -> None:
    for i in range(n):
        record(session, actor="cli", action="test.step", details={"i": i}, now=T0)
    session.commit()


def test_verify_reports_an_intact_log(db_url: str, session: Session, tmp_path: Path) -> None:
    _append(session, 20)
    result = schutz(db_url, tmp_path, "audit", "verify")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "intact, 20 entries"


def test_verify_names_the_first_bad_entry(
    db_url: str, session: Session, engine: Engine, tmp_path: Path
) -> None:
    _append(session, 20)
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_entry SET actor = 'nobody' WHERE seq = 17"))
    result = schutz(db_url, tmp_path, "audit", "verify")
    assert result.returncode == 1
    assert result.stdout.strip() == "broken at entry 17: hash does not match its contents"
    assert "Traceback" not in result.stderr
