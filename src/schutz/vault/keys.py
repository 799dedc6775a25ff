"""The master keyring and the blind index: which key wraps data keys, how e-mails are found.

The keyring file holds one base64 master key per line, oldest first; the last line is the
active key, which wraps new data keys. Older lines stay until no subject needs them, so an
interrupted `schutz keys rotate` can resume. A key's id is derived from the key itself, so
the file needs nothing but the keys. It is created on first use with mode 0600.

E-mail look-ups use a blind index: HMAC-SHA256 of the normalised address under an index key
derived from the master key with HKDF (RFC 5869), so the database never needs the plaintext
address to find a subject (Art. 32(1)(a) GDPR, clause C10).

The keyring is also the `Sealer` the mail domain is handed (`mail.sealing`): `seal_mail` and
`open_mail` seal outbox payloads under a subject's key or a key of their own
(`vault.mail_seal`), so that mail, which sits below the vault, never imports it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import stat as stat_mode
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy.orm import Session

from schutz.config import Settings
from schutz.db import private_folder
from schutz.errors import SchutzError
from schutz.files import write_private
from schutz.vault import mail_seal
from schutz.vault.crypto import KEY_BYTES, unwrap_key, unwrap_with, wrap_key

KEYRING_NAME = "master.key"
_INDEX_INFO = b"schutz/blind-index/email/v1"


class KeyringError(SchutzError):
    """The master keyring is missing, unreadable or malformed."""


class ExposedKeyFile(KeyringError):
    """A key file others on the machine could read: refused, never used (invariant 3)."""


def refuse_if_exposed(path: Path, mode: int) -> None:
    """Raise `ExposedKeyFile` when the file's `mode` lets its group or others in.

    A key readable by another account is a key that account may have copied; using it
    would keep every ciphertext readable to them. The message says how to fix it.
    """
    if mode & 0o077:
        raise ExposedKeyFile(
            f"key file {path} is readable by group or others"
            f" (mode {stat_mode.S_IMODE(mode):o}); run: chmod 600 {path}"
        )


@dataclass(frozen=True, slots=True)
class MasterKey:
    """One master key and the values derived from it."""

    secret: bytes = field(repr=False)
    key_id: str = field(init=False)
    index_key: bytes = field(init=False, repr=False)

    def __post_init__(self) -> None:
        digest = hashlib.sha256(b"schutz/master-key-id/v1" + self.secret).hexdigest()
        object.__setattr__(self, "key_id", digest[:16])
        hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INDEX_INFO)
        object.__setattr__(self, "index_key", hkdf.derive(self.secret))


@dataclass(frozen=True, slots=True)
class Keyring:
    """Every master key still in use, oldest first; the last one is active."""

    keys: tuple[MasterKey, ...]

    @property
    def active(self) -> MasterKey:
        return self.keys[-1]

    def get(self, key_id: str) -> MasterKey:
        for key in self.keys:
            if key.key_id == key_id:
                return key
        raise KeyringError(f"master key {key_id} is not in the keyring")

    def wrap(self, data_key: bytes, *, subject_id: str) -> tuple[str, bytes]:
        """(key id, wrapped key): `data_key` wrapped under the active master key."""
        active = self.active
        wrapped = wrap_key(
            active.secret, data_key, subject_id=subject_id, master_key_id=active.key_id
        )
        return active.key_id, wrapped

    def unwrap(self, wrapped: bytes, *, subject_id: str, key_id: str) -> bytes:
        """The data key of `subject_id`, unwrapped with the master key it was wrapped under."""
        secret = self.get(key_id).secret
        return unwrap_key(secret, wrapped, subject_id=subject_id, master_key_id=key_id)

    def unwrapper(self) -> Callable[[bytes, str, str], bytes]:
        """`unwrap(wrapped, subject_id, key_id)` for many subjects: each master key's AES
        context is built once, not once per subject (batched reads, e.g. audiences)."""
        contexts = {key.key_id: AESGCM(key.secret) for key in self.keys}

        def unwrap(wrapped: bytes, subject_id: str, key_id: str) -> bytes:
            context = contexts.get(key_id)
            if context is None:
                raise KeyringError(f"master key {key_id} is not in the keyring")
            return unwrap_with(context, wrapped, subject_id=subject_id, master_key_id=key_id)

        return unwrap

    def seal_mail(
        self, session: Session, plaintext: bytes, *, subject_id: str | None, ref: str
    ) -> dict[str, Any]:
        """Mail's `Sealer`: an outbox payload sealed (see `schutz.vault.mail_seal`)."""
        return mail_seal.seal_mail(self, session, plaintext, subject_id=subject_id, ref=ref)

    def open_mail(self, session: Session, sealed: Mapping[str, Any]) -> bytes:
        """Mail's `Sealer`: the payload `seal_mail` sealed."""
        return mail_seal.open_mail(self, session, sealed)

    def blind_index(self, normalised_email: str) -> bytes:
        """The active blind index of an address (already normalised)."""
        return _hmac(self.active.index_key, normalised_email)

    def blind_indexes(self, normalised_email: str) -> list[bytes]:
        """The address's index under every key, active first: during a rotation some subjects
        are still indexed under the old key."""
        return [_hmac(key.index_key, normalised_email) for key in reversed(self.keys)]

    def identity_index(self, identity: str, value: str) -> bytes:
        """The active blind index of a custom identity's value (already normalised).

        The identity's name is part of the input, so equal values of two identities (or an
        identity and an e-mail address) never share an index.
        """
        return _hmac(self.active.index_key, f"identity:{identity}\x00{value}")

    def identity_indexes(self, identity: str, value: str) -> list[bytes]:
        """The value's index under every key, active first (see `blind_indexes`)."""
        text = f"identity:{identity}\x00{value}"
        return [_hmac(key.index_key, text) for key in reversed(self.keys)]


def _hmac(key: bytes, value: str) -> bytes:
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).digest()


def keyring_path(settings: Settings) -> Path:
    """`SCHUTZ_MASTER_KEY_FILE`, or `master.key` in the data directory."""
    return settings.master_key_file or settings.data_dir / KEYRING_NAME


def parse_keyring(text: str, where: Path | str = "<keyring>") -> Keyring:
    """Read a keyring: one base64 key of 32 bytes per line; blank lines and `#` comments."""
    keys: list[MasterKey] = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            secret = base64.b64decode(line, validate=True)
        except (binascii.Error, ValueError):
            secret = b""
        if len(secret) != KEY_BYTES:
            raise KeyringError(f"{where}:{number}: not a base64 key of {KEY_BYTES} bytes")
        keys.append(MasterKey(secret))
    if not keys:
        raise KeyringError(f"{where}: holds no master key")
    return Keyring(tuple(keys))


def _format(keyring: Keyring) -> str:
    lines = ["# Schutz master keys, oldest first; the last one is active. Keep secret."]
    lines += [base64.b64encode(key.secret).decode("ascii") for key in keyring.keys]
    return "\n".join(lines) + "\n"


def _write_private(path: Path, text: str) -> None:
    """Replace `path` atomically with `text`, readable by the owner only (mode 0600)."""
    write_private(path, text)


_cache: dict[Path, tuple[tuple[int, int, int], Keyring]] = {}


def load_keyring(settings: Settings) -> Keyring:
    """The keyring of this installation, created in the data directory on first use.

    The data directory is kept 0700, and a keyring file its group or others may read is
    refused (`ExposedKeyFile`) instead of used. A file named by `SCHUTZ_MASTER_KEY_FILE`
    must exist: generating a new key in its place would leave every stored field unreadable.
    The parsed keyring is cached until the file changes, so a request costs one `stat`
    (the folder is created and narrowed on the first call of the process).
    """
    path = keyring_path(settings)
    if settings.master_key_file is None and path not in _cache:
        private_folder(settings.data_dir)  # once per process: later calls cost one `stat`
    try:
        stat = path.stat()
    except FileNotFoundError:
        if settings.master_key_file is not None:
            raise KeyringError(f"master key file {path} does not exist") from None
        _write_private(path, _format(Keyring((MasterKey(secrets.token_bytes(KEY_BYTES)),))))
        stat = path.stat()
    refuse_if_exposed(path, stat.st_mode)
    stamp = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
    cached = _cache.get(path)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    try:
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyringError(f"cannot read master key file {path}: {type(exc).__name__}") from exc
    keyring = parse_keyring(text, path)
    _cache[path] = (stamp, keyring)
    return keyring


def add_master_key(settings: Settings) -> Keyring:
    """Append a fresh master key and make it the active one (the first step of a rotation)."""
    keyring = load_keyring(settings)
    keyring = Keyring((*keyring.keys, MasterKey(secrets.token_bytes(KEY_BYTES))))
    _write_private(keyring_path(settings), _format(keyring))
    return keyring


def retire_master_keys(settings: Settings, key_ids: set[str]) -> Keyring:
    """Drop keys no data key is wrapped under any more; the active key always stays.

    Backups taken before the rotation need the old key; keep a copy with them if they
    must stay restorable.
    """
    keyring = load_keyring(settings)
    kept = tuple(k for k in keyring.keys if k.key_id not in key_ids or k is keyring.active)
    keyring = Keyring(kept)
    _write_private(keyring_path(settings), _format(keyring))
    return keyring
