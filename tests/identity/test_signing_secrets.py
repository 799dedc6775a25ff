"""secret.key: a rotation signs new links with a new secret; old links work through the grace."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from itsdangerous import BadSignature, URLSafeTimedSerializer

from schutz.identity.signing_secrets import (
    SecretFileError,
    SecretsFile,
    load_or_create,
    rotate,
    secret_path,
)

NOW = datetime(2026, 11, 29, 4, 0, tzinfo=UTC)
SALT = "schutz.requests.verify"


def sign(keys: list[bytes]) -> str:
    return URLSafeTimedSerializer(keys, salt=SALT).dumps({"r": "req-1"})


def verifies(keys: list[bytes], token: str) -> bool:
    try:
        URLSafeTimedSerializer(keys, salt=SALT).loads(token)
    except BadSignature:
        return False
    return True


def test_a_link_signed_before_rotation_verifies_through_the_grace_and_not_after(
    tmp_path: Path,
) -> None:
    before = load_or_create(tmp_path)
    old_link = sign(before.accepted(NOW))
    after = rotate(tmp_path, grace=timedelta(days=7), now=NOW)
    assert verifies(after.accepted(NOW + timedelta(days=6, hours=23)), old_link)
    assert not verifies(after.accepted(NOW + timedelta(days=7)), old_link)


def test_new_links_are_signed_with_the_new_secret(tmp_path: Path) -> None:
    before = load_or_create(tmp_path)
    after = rotate(tmp_path, grace=timedelta(days=7), now=NOW)
    new_link = sign(after.accepted(NOW))
    assert verifies([after.current], new_link)
    assert not verifies([before.current], new_link)


def test_a_rotation_without_grace_stops_old_links_at_once(tmp_path: Path) -> None:
    old_link = sign(load_or_create(tmp_path).accepted(NOW))
    assert not verifies(rotate(tmp_path, grace=timedelta(0), now=NOW).accepted(NOW), old_link)


def test_secrets_whose_grace_ended_leave_the_file(tmp_path: Path) -> None:
    rotate(tmp_path, grace=timedelta(days=1), now=NOW)
    rotate(tmp_path, grace=timedelta(days=7), now=NOW + timedelta(hours=1))
    third = rotate(tmp_path, grace=timedelta(days=7), now=NOW + timedelta(days=2))
    assert len(third.retired) == 2
    assert load_or_create(tmp_path) == third


def test_the_secret_file_stays_private_to_the_owner(tmp_path: Path) -> None:
    load_or_create(tmp_path)
    rotate(tmp_path, grace=timedelta(days=7), now=NOW)
    assert stat.S_IMODE(secret_path(tmp_path).stat().st_mode) == 0o600


def test_a_secret_file_others_may_read_is_refused(tmp_path: Path) -> None:
    load_or_create(tmp_path)
    secret_path(tmp_path).chmod(0o644)
    with pytest.raises(SecretFileError, match="chmod 600"):
        load_or_create(tmp_path)


def test_a_secret_file_from_before_rotation_keeps_its_links_working(tmp_path: Path) -> None:
    legacy = b"0123456789abcdef" * 4
    path = secret_path(tmp_path)
    path.write_bytes(legacy + b"\n")
    path.chmod(0o600)
    old_link = sign([legacy])
    assert verifies(load_or_create(tmp_path).accepted(NOW), old_link)
    rotated = rotate(tmp_path, grace=timedelta(days=7), now=NOW)
    assert verifies(rotated.accepted(NOW), old_link)


def test_a_running_server_picks_up_a_rotation(tmp_path: Path) -> None:
    running = SecretsFile(tmp_path)
    first = running.accepted(NOW)
    rotated = rotate(tmp_path, grace=timedelta(days=7), now=NOW)
    assert running.accepted(NOW) == [first[-1], rotated.current]


def schutz_secret(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "schutz", "--data-dir", str(data_dir), "secret", *args],
        capture_output=True, text=True, env=dict(os.environ), timeout=120, check=False,
    )  # fmt: skip


def test_schutz_secret_rotate_rotates_with_the_grace_asked_for(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    old = load_or_create(data_dir)
    result = schutz_secret(data_dir, "rotate", "--grace-days", "2")
    assert result.returncode == 0, result.stderr
    assert "keep working until" in result.stdout
    rotated = load_or_create(data_dir)
    assert rotated.current != old.current
    assert [r.secret for r in rotated.retired] == [old.current]
    assert old.current.decode() not in result.stdout + result.stderr


def test_schutz_secret_status_shows_when_old_links_stop_and_no_secret(tmp_path: Path) -> None:
    rotate(tmp_path, grace=timedelta(days=3), now=datetime.now(UTC))
    result = schutz_secret(tmp_path, "status")
    assert result.returncode == 0, result.stderr
    assert "retired secret verifies until" in result.stdout
    for secret in load_or_create(tmp_path).accepted(datetime.now(UTC)):
        assert secret.decode() not in result.stdout


def test_schutz_secret_refuses_a_file_others_may_read_in_one_line(tmp_path: Path) -> None:
    load_or_create(tmp_path)
    secret_path(tmp_path).chmod(0o640)
    result = schutz_secret(tmp_path, "rotate")
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert "chmod 600" in result.stderr
