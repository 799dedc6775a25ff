"""Sealing disclosure records under the subject's own data key, so erasure shreds them.

The vault encrypts every personal field with the subject's data key; an order's details and
a disclosure's payload are sealed the same way (AES-256-GCM, `schutz.vault.crypto`), bound
by their associated data to the subject and to the row they belong to. The vault unwraps
the key (`vault.subject_cipher`); this module reads no vault table. Once the vault destroys
the subject's key (Art. 17 GDPR, crypto-shredding), no copy can be opened again.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from schutz.vault import service as vault
from schutz.vault.keys import Keyring
from schutz.vault.service import FieldCipher

ORDER_LABEL = "disclosure.order"
PAYLOAD_LABEL = "disclosure.payload"


@dataclass(frozen=True, slots=True)
class SubjectKey:
    """The unwrapped cipher of one subject, built once per request or delivery."""

    cipher: FieldCipher

    @property
    def key_version(self) -> int:
        return self.cipher.key_version

    def seal(self, label: str, row_id: str, plaintext: str) -> bytes:
        return self.cipher.encrypt(label, row_id, plaintext)

    def open(self, label: str, row_id: str, blob: bytes, key_version: int) -> str:
        return self.cipher.decrypt(label, row_id, blob, key_version)


def subject_key(session: Session, keyring: Keyring, subject_id: str) -> SubjectKey:
    """The subject's cipher, from the vault; `NotFound` once the subject is erased."""
    return SubjectKey(vault.subject_cipher(session, keyring, subject_id))
