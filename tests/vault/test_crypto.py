"""Field encryption: round trips, and every kind of tampering is detected."""

from __future__ import annotations

import pytest

from schutz.vault.crypto import (
    FieldCipher,
    IntegrityCheckError,
    new_data_key,
    unwrap_key,
    wrap_key,
)

SUBJECT = "a" * 32


def test_field_round_trips() -> None:
    cipher = FieldCipher(new_data_key(), subject_id=SUBJECT, key_version=1)
    blob = cipher.encrypt("name", "user.name", "Ada Lovelace")
    assert b"Ada" not in blob
    assert cipher.decrypt("name", "user.name", blob, 1) == "Ada Lovelace"


def test_same_value_encrypts_differently_each_time() -> None:
    cipher = FieldCipher(new_data_key(), subject_id=SUBJECT, key_version=1)
    assert cipher.encrypt("name", "user.name", "x") != cipher.encrypt("name", "user.name", "x")


@pytest.mark.parametrize(
    ("field", "category", "version", "subject"),
    [
        ("email", "user.name", 1, SUBJECT),  # moved to another field
        ("name", "user.contact.email", 1, SUBJECT),  # relabelled category
        ("name", "user.name", 2, SUBJECT),  # claimed to be under another key version
        ("name", "user.name", 1, "b" * 32),  # copied to another subject with the same key
    ],
)
def test_moved_or_relabelled_ciphertext_fails(
    field: str, category: str, version: int, subject: str
) -> None:
    key = new_data_key()
    blob = FieldCipher(key, subject_id=SUBJECT, key_version=1).encrypt("name", "user.name", "Ada")
    other = FieldCipher(key, subject_id=subject, key_version=1)
    with pytest.raises(IntegrityCheckError):
        other.decrypt(field, category, blob, version)


@pytest.mark.parametrize("position", [0, 12, 20, -1])
def test_flipped_byte_fails(position: int) -> None:
    cipher = FieldCipher(new_data_key(), subject_id=SUBJECT, key_version=1)
    blob = bytearray(cipher.encrypt("name", "user.name", "Ada Lovelace"))
    blob[position] ^= 0x01
    with pytest.raises(IntegrityCheckError) as caught:
        cipher.decrypt("name", "user.name", bytes(blob), 1)
    assert "Ada" not in str(caught.value)


def test_wrapped_key_is_bound_to_its_subject_and_master_key() -> None:
    master, data_key = new_data_key(), new_data_key()
    wrapped = wrap_key(master, data_key, subject_id=SUBJECT, master_key_id="m1")
    assert unwrap_key(master, wrapped, subject_id=SUBJECT, master_key_id="m1") == data_key
    with pytest.raises(IntegrityCheckError):
        unwrap_key(master, wrapped, subject_id="b" * 32, master_key_id="m1")
    with pytest.raises(IntegrityCheckError):
        unwrap_key(new_data_key(), wrapped, subject_id=SUBJECT, master_key_id="m1")
