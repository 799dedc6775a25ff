"""`schutz staff add` and `schutz apikey create`: what they store, print and audit."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from schutz.audit.models import AuditEntry
from schutz.audit.service import verify
from schutz.identity.service import authenticate_api_key, authenticate_staff

NOW = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
EMAIL = "Dana.DPO@shop.example"
PASSWORD = "correct horse battery"


def schutz(
    db_url: str, data_dir: Path, *args: str, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "schutz", "--data-dir", str(data_dir), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env={**os.environ, "SCHUTZ_DATABASE_URL": db_url},
        timeout=120,
        check=False,
    )


def test_apikey_create_prints_the_key_last_and_it_works(
    db_url: str, session: Session, tmp_path: Path
) -> None:
    result = schutz(db_url, tmp_path, "apikey", "create", "--name", "shop-1", "--role", "shop")
    assert result.returncode == 0, result.stderr
    key = result.stdout.splitlines()[-1]
    found = authenticate_api_key(session, key)
    assert (found.name, found.role) == ("shop-1", "shop")
    assert key not in str(session.scalars(select(AuditEntry.details)).all())
    assert verify(session).ok


def test_apikey_create_refuses_an_unknown_role(db_url: str, tmp_path: Path) -> None:
    result = schutz(db_url, tmp_path, "apikey", "create", "--name", "x", "--role", "root")
    assert result.returncode == 1
    assert result.stderr.startswith("error: unknown API key role 'root'")
    assert "Traceback" not in result.stderr


def test_staff_add_reads_the_password_from_stdin(
    db_url: str, session: Session, tmp_path: Path
) -> None:
    result = schutz(
        db_url, tmp_path, "staff", "add", "--email", EMAIL, "--role", "dpo", stdin=PASSWORD + "\n"
    )
    assert result.returncode == 0, result.stderr
    assert EMAIL not in result.stdout
    user = authenticate_staff(session, EMAIL.lower(), PASSWORD, NOW)
    assert (user.email, user.role) == (EMAIL, "dpo")
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "staff.add")).one()
    assert (entry.actor, entry.details) == ("cli", {"staff_id": user.id, "role": "dpo"})


def test_staff_add_refuses_a_short_password_in_one_line(db_url: str, tmp_path: Path) -> None:
    result = schutz(
        db_url, tmp_path, "staff", "add", "--email", EMAIL, "--role", "dpo", stdin="short\n"
    )
    assert result.returncode == 1
    assert result.stderr == "error: the password must be at least 12 characters long\n"


def test_staff_add_refuses_a_second_account_for_the_same_address(
    db_url: str, tmp_path: Path
) -> None:
    args = ("staff", "add", "--email", EMAIL, "--role", "support")
    assert schutz(db_url, tmp_path, *args, stdin=PASSWORD).returncode == 0
    again = schutz(
        db_url,
        tmp_path,
        "staff",
        "add",
        "--email",
        EMAIL.upper(),
        "--role",
        "admin",
        stdin=PASSWORD,
    )
    assert again.returncode == 1
    assert EMAIL.upper() not in again.stderr
    assert "exists already" in again.stderr
