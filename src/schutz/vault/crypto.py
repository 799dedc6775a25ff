"""AES-256-GCM for the vault: per-subject data keys, wrapped under a master key.

Every ciphertext carries associated data naming where it belongs (subject, field, category,
key version), so a ciphertext copied to another row or another subject fails to decrypt
instead of being read as someone else's data (Art. 32(1)(a) GDPR: encryption; clause C10).
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from schutz.errors import IntegrityCheckError

__all__ = [
    "KEY_BYTES",
    "FieldCipher",
    "IntegrityCheckError",
    "new_data_key",
    "unwrap_key",
    "unwrap_with",
    "wrap_key",
]

KEY_BYTES = 32
NONCE_BYTES = 12
_WRAP_LABEL = b"schutz/wrap/v1"
_FIELD_LABEL = b"schutz/field/v1"


def new_data_key() -> bytes:
    """A fresh random 256-bit key for one subject."""
    return AESGCM.generate_key(bit_length=256)


def _seal(key: AESGCM, plaintext: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return nonce + key.encrypt(nonce, plaintext, aad)


def _open(key: AESGCM, blob: bytes, aad: bytes) -> bytes:
    return key.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad)


def wrap_key(master: bytes, data_key: bytes, *, subject_id: str, master_key_id: str) -> bytes:
    """Encrypt `data_key` under `master`, bound to the subject it belongs to."""
    aad = b"|".join((_WRAP_LABEL, subject_id.encode(), master_key_id.encode()))
    return _seal(AESGCM(master), data_key, aad)


def unwrap_key(master: bytes, wrapped: bytes, *, subject_id: str, master_key_id: str) -> bytes:
    """The subject's data key; `IntegrityCheckError` if the wrapped key was altered or moved."""
    return unwrap_with(AESGCM(master), wrapped, subject_id=subject_id, master_key_id=master_key_id)


def unwrap_with(master: AESGCM, wrapped: bytes, *, subject_id: str, master_key_id: str) -> bytes:
    """`unwrap_key` with the master key's AES context built by the caller, once per batch."""
    aad = b"|".join((_WRAP_LABEL, subject_id.encode(), master_key_id.encode()))
    try:
        return _open(master, wrapped, aad)
    except (InvalidTag, ValueError) as exc:
        raise IntegrityCheckError(f"the data key of subject {subject_id} fails its check") from exc


def _field_aad(subject_id: str, field: str, category: str, key_version: int) -> bytes:
    return b"|".join(
        (_FIELD_LABEL, subject_id.encode(), field.encode(), category.encode(), b"%d" % key_version)
    )


class FieldCipher:
    """Encrypts and decrypts the fields of one subject with its (unwrapped) data key.

    Build one per request: the AES key schedule is set up once and reused for every field.
    """

    __slots__ = ("_aead", "key_version", "subject_id")

    def __init__(self, data_key: bytes, *, subject_id: str, key_version: int) -> None:
        self._aead = AESGCM(data_key)
        self.subject_id = subject_id
        self.key_version = key_version

    def encrypt(self, field: str, category: str, value: str) -> bytes:
        """Nonce + ciphertext + tag of `value`, bound to this subject, field and category."""
        aad = _field_aad(self.subject_id, field, category, self.key_version)
        return _seal(self._aead, value.encode("utf-8"), aad)

    def decrypt(self, field: str, category: str, blob: bytes, key_version: int) -> str:
        """The plaintext of one stored field, or `IntegrityCheckError` if it is not genuine."""
        aad = _field_aad(self.subject_id, field, category, key_version)
        try:
            return _open(self._aead, blob, aad).decode("utf-8")
        except (InvalidTag, ValueError, UnicodeDecodeError) as exc:
            raise IntegrityCheckError(
                f"field {field!r} of subject {self.subject_id} fails its integrity check"
            ) from exc

    def seal(self, context: str, plaintext: bytes) -> bytes:
        """`plaintext` sealed for this subject and `context` (see `vault.seal_for_subject`).

        The associated data is a field's with `context` as both name and category, so the
        request texts sealed before this method existed still open.
        """
        aad = _field_aad(self.subject_id, context, context, self.key_version)
        return _seal(self._aead, plaintext, aad)

    def open(self, context: str, blob: bytes) -> bytes:
        """The plaintext of `seal(context, ...)`, or `IntegrityCheckError`."""
        aad = _field_aad(self.subject_id, context, context, self.key_version)
        try:
            return _open(self._aead, blob, aad)
        except (InvalidTag, ValueError) as exc:
            raise IntegrityCheckError(
                f"a sealed {context!r} of subject {self.subject_id} fails its integrity check"
            ) from exc
