"""`schutz staff disable --email E`: the user can no longer sign in, open sessions end, and
the audit log says who was disabled (by id, never by address)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from schutz.audit.models import AuditEntry
from schutz.audit.service import verify
from schutz.errors import Unauthenticated
from schutz.identity import service

NOW = datetime(2026, 11, 15, 9, 0, tzinfo=UTC)
EMAIL = "Mia.Support@shop.example"
PASSWORD = "correct horse battery"


def _schutz(db_url: str, data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "schutz", "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "SCHUTZ_DATABASE_URL": db_url},
        timeout=120,
        check=False,
    )


def test_disabled_staff_cannot_sign_in_and_their_sessions_end(
    db_url: str, session: Session, tmp_path: Path
) -> None:
    user = service.add_staff(
        session, email=EMAIL, role="support", password=PASSWORD, actor="t", now=NOW
    )
    _, token = service.start_session(session, user, now=NOW)
    session.commit()
    session.close()

    result = _schutz(db_url, tmp_path, "staff", "disable", "--email", EMAIL.lower())
    assert result.returncode == 0, result.stderr
    assert "@" not in result.stdout

    later = NOW + timedelta(minutes=5)
    assert service.session_for_token(session, token, now=later) is None
    with pytest.raises(Unauthenticated):
        service.authenticate_staff(session, EMAIL, PASSWORD, later)
    session.rollback()
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "staff.disable")).one()
    assert (entry.actor, entry.details["staff_id"]) == ("cli", user.id)
    assert verify(session).ok


def test_disabling_an_unknown_or_disabled_user_is_one_clear_line(
    db_url: str, session: Session, tmp_path: Path
) -> None:
    service.add_staff(session, email=EMAIL, role="support", password=PASSWORD, actor="t", now=NOW)
    service.disable_staff(session, email=EMAIL, actor="t", now=NOW)
    session.commit()
    session.close()
    for address in (EMAIL, "nobody@shop.example"):
        result = _schutz(db_url, tmp_path, "staff", "disable", "--email", address)
        assert result.returncode == 1
        assert result.stderr == "error: no active staff user with this e-mail address\n"
