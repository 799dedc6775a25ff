"""The master keyring: created once with mode 0600, never silently replaced; blind index."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from schutz.config import Settings
from schutz.vault.keys import (
    KeyringError,
    add_master_key,
    keyring_path,
    load_keyring,
    parse_keyring,
    retire_master_keys,
)


def _settings(tmp_path: Path, **kw: object) -> Settings:
    return Settings(data_dir=tmp_path / "data", **kw)  # type: ignore[arg-type]


def test_keyring_is_created_on_first_use_owner_only(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    keyring = load_keyring(settings)
    path = keyring_path(settings)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_keyring(settings).active.key_id == keyring.active.key_id


def test_missing_external_key_file_is_an_error_not_a_new_key(tmp_path: Path) -> None:
    settings = _settings(tmp_path, master_key_file=tmp_path / "absent.key")
    with pytest.raises(KeyringError, match="does not exist"):
        load_keyring(settings)


@pytest.mark.parametrize("text", ["", "# only a comment\n", "bm90IGEga2V5\n", "!!!\n"])
def test_malformed_keyring_is_refused(text: str) -> None:
    with pytest.raises(KeyringError):
        parse_keyring(text)


def test_rotation_adds_an_active_key_and_keeps_the_old_one(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    first = load_keyring(settings).active
    ring = add_master_key(settings)
    assert [k.key_id for k in ring.keys] == [first.key_id, ring.active.key_id]
    assert load_keyring(settings) == ring
    ring = retire_master_keys(settings, {first.key_id})
    assert [k.key_id for k in ring.keys] == [ring.active.key_id]


def test_blind_index_is_keyed_and_differs_per_master_key(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    one = load_keyring(settings)
    two = add_master_key(settings)
    address = "ada@example.org"
    assert one.blind_index(address) == two.blind_indexes(address)[1]
    assert two.blind_index(address) != one.blind_index(address)
    assert len(two.blind_index(address)) == 32
