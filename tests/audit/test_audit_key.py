"""The audit key file: created once, private, stable across master-key rotations."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from schutz.audit.keys import AuditKeyError, load_audit_key, write_new_audit_key
from schutz.config import Settings
from schutz.vault.keys import add_master_key, load_keyring


def _settings(data_dir: Path, **changes: object) -> Settings:
    return Settings(data_dir=data_dir, audit_key_file=None).model_copy(update=changes)


def test_the_key_is_created_once_in_the_data_dir_readable_by_the_owner_only(
    tmp_path: Path,
) -> None:
    settings = _settings(tmp_path / "data")
    first = load_audit_key(settings)
    path = tmp_path / "data" / "audit.key"
    assert path.stat().st_mode & 0o777 == 0o600
    assert load_audit_key(settings) == first
    write_new_audit_key(path)  # a second process starting at once keeps the first one's key
    assert load_audit_key(settings) == first


def test_a_master_key_rotation_leaves_the_audit_key_alone(tmp_path: Path) -> None:
    settings = _settings(tmp_path / "data")
    before = load_audit_key(settings)
    load_keyring(settings)
    add_master_key(settings)
    assert load_audit_key(settings) == before


def test_a_named_key_file_must_exist(tmp_path: Path) -> None:
    missing = tmp_path / "elsewhere" / "audit.key"
    with pytest.raises(AuditKeyError, match="does not exist"):
        load_audit_key(_settings(tmp_path / "data", audit_key_file=missing))
    assert not missing.exists()


def test_an_unbound_engine_never_creates_a_key(tmp_path: Path) -> None:
    with pytest.raises(AuditKeyError, match="does not exist"):
        load_audit_key(_settings(tmp_path / "data"), create=False)
    assert not (tmp_path / "data" / "audit.key").exists()


def test_a_key_file_open_to_other_users_is_refused(tmp_path: Path) -> None:
    settings = _settings(tmp_path / "data")
    load_audit_key(settings)
    os.chmod(tmp_path / "data" / "audit.key", 0o644)
    with pytest.raises(AuditKeyError, match="other users"):
        load_audit_key(settings)


@pytest.mark.parametrize(
    "content", ["", "# only a comment\n", "bm90IGEga2V5\n", "QUFB\nQUFB\n", "not base64 at all\n"]
)
def test_a_malformed_key_file_is_refused(tmp_path: Path, content: str) -> None:
    path = tmp_path / "audit.key"
    path.write_text(content)
    path.chmod(0o600)
    with pytest.raises(AuditKeyError, match=str(path)):
        load_audit_key(_settings(tmp_path, audit_key_file=path))
