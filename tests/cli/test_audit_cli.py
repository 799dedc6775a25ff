"""`schutz audit verify | checkpoint | rekey`: one line each, exit 1 naming the first bad entry."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from schutz.audit.service import record

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def schutz(
    db_url: str, data_dir: Path, *args: str, without: str = ""
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SCHUTZ_DATABASE_URL": db_url}
    env.pop(without, None)
    return subprocess.run(
        [sys.executable, "-m", "schutz", "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        env=env,
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
    assert result.stdout.strip() == "broken at entry 17: its MAC does not match its contents"
    assert "Traceback" not in result.stderr


def test_a_printed_checkpoint_catches_a_chain_cut_back_later(
    db_url: str, session: Session, engine: Engine, tmp_path: Path
) -> None:
    _append(session, 10)
    printed = schutz(db_url, tmp_path, "audit", "checkpoint")
    assert printed.returncode == 0, printed.stderr
    line = printed.stdout.strip()
    assert re.fullmatch(r"seq=10 mac=[0-9a-f]{64}", line)
    _append(session, 5)
    kept = schutz(db_url, tmp_path, "audit", "verify", "--checkpoint", line)
    assert (kept.returncode, kept.stdout.strip()) == (0, "intact, 15 entries")
    with engine.begin() as conn:  # entries 9 to 15 removed, the head put back on 8
        conn.execute(text("DELETE FROM audit_entry WHERE seq > 8"))
        conn.execute(
            text(
                "UPDATE audit_head SET seq = 8, hash = (SELECT hash FROM audit_entry WHERE seq = 8)"
            )
        )
    assert schutz(db_url, tmp_path, "audit", "verify").returncode == 0  # the key alone cannot tell
    seq_colon_mac = line.replace("seq=", "").replace(" mac=", ":")
    cut = schutz(db_url, tmp_path, "audit", "verify", "--checkpoint", seq_colon_mac)
    assert cut.returncode == 1
    assert cut.stdout.strip() == (
        f"broken at entry 9: entry is missing (the chain ends at 8, before checkpoint {line})"
    )


def test_a_malformed_checkpoint_is_one_clear_error(db_url: str, tmp_path: Path) -> None:
    result = schutz(db_url, tmp_path, "audit", "verify", "--checkpoint", "12:nothex")
    assert result.returncode == 2
    assert "not a checkpoint" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_key_file_is_made_private_in_the_data_dir_on_first_use(tmp_path: Path) -> None:
    data = tmp_path / "data"
    url = f"sqlite:///{data / 'schutz.db'}"
    result = schutz(url, data, "audit", "checkpoint", without="SCHUTZ_AUDIT_KEY_FILE")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"seq=0 mac={'0' * 64}"
    assert (data / "audit.key").stat().st_mode & 0o777 == 0o600
