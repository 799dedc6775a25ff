"""The audit key: the secret the chain's MACs are computed under, kept outside the database.

The key lives in a file (`audit.key` in the data directory, or `SCHUTZ_AUDIT_KEY_FILE`),
created on first use with mode 0600. It is its own key, not derived from the master key:
`schutz keys rotate` renews the master key, and the audit chain must keep verifying across
rotations. Every entry records the id of the key its MAC is under (a hash of the key, never
the key), so a wrong or regenerated key file is named as such instead of looking like
tampering everywhere.

Services never load the key themselves: `create_app` and the CLI bind it to their engine,
and `audit_key_for(session)` finds it from the session's engine. A process that builds its
own engine without binding (a script, a test helper) uses the key file that the environment
names (`SCHUTZ_AUDIT_KEY_FILE`, else `SCHUTZ_DATA_DIR`/audit.key), which must exist then.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
import stat
import weakref
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session

from schutz.config import Settings
from schutz.errors import SchutzError
from schutz.files import write_private

AUDIT_KEY_NAME = "audit.key"
KEY_BYTES = 32
_HEADER = "# Schutz audit chain key (HMAC-SHA256). Keep secret, and apart from the database."


class AuditKeyError(SchutzError):
    """The audit key file is missing, unreadable, malformed or readable by others."""


@dataclass(frozen=True, slots=True)
class AuditKey:
    """The MAC key of the audit chain and its public id."""

    secret: bytes = field(repr=False)
    key_id: str = field(init=False)

    def __post_init__(self) -> None:
        digest = hashlib.sha256(b"schutz/audit-key-id/v1" + self.secret).hexdigest()
        object.__setattr__(self, "key_id", digest[:16])


def audit_key_path(settings: Settings) -> Path:
    """`SCHUTZ_AUDIT_KEY_FILE`, or `audit.key` in the data directory."""
    return settings.audit_key_file or settings.data_dir / AUDIT_KEY_NAME


def write_new_audit_key(path: Path) -> None:
    """Create `path` with a fresh random key (mode 0600) unless it exists already.

    The file is written aside and linked into place, so two processes starting at once
    never replace each other's key: the second one finds the first one's file and uses it.
    """
    text = f"{_HEADER}\n{base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode('ascii')}\n"
    write_private(path, text, replace=False)  # another process was first: theirs it is


def parse_audit_key(text: str, where: Path | str) -> AuditKey:
    """The one base64 key of 32 bytes in `text`; blank lines and `#` comments are skipped."""
    lines = [s for s in (line.strip() for line in text.splitlines()) if s and s[0] != "#"]
    if len(lines) != 1:
        raise AuditKeyError(f"{where}: must hold exactly one audit key, found {len(lines)}")
    try:
        secret = base64.b64decode(lines[0], validate=True)
    except (binascii.Error, ValueError):
        secret = b""
    if len(secret) != KEY_BYTES:
        raise AuditKeyError(f"{where}: not a base64 key of {KEY_BYTES} bytes")
    return AuditKey(secret)


_cache: dict[Path, tuple[tuple[int, int, int], AuditKey]] = {}


def load_audit_key(settings: Settings, *, create: bool = True) -> AuditKey:
    """The audit key of this installation, created in the data directory on first use.

    A file named by `SCHUTZ_AUDIT_KEY_FILE` must exist: a new key in its place would make
    every existing entry fail verification. A file others can read is refused (the key is
    all that stops someone with the database from rewriting the chain).
    """
    path = audit_key_path(settings)
    if not path.exists():
        if settings.audit_key_file is not None or not create:
            raise AuditKeyError(f"audit key file {path} does not exist")
        write_new_audit_key(path)
    try:
        info = path.stat()
        if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise AuditKeyError(f"audit key file {path} is open to other users; chmod 600 it")
        stamp = (info.st_mtime_ns, info.st_size, info.st_ino)
        cached = _cache.get(path)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise AuditKeyError(f"cannot read audit key file {path}: {type(exc).__name__}") from exc
    key = parse_audit_key(text, path)
    _cache[path] = (stamp, key)
    return key


_bound: weakref.WeakKeyDictionary[Engine, AuditKey] = weakref.WeakKeyDictionary()


def bind_audit_key(engine: Engine, key: AuditKey) -> None:
    """Make `key` the audit key of every session on `engine` (create_app, the CLI)."""
    _bound[engine] = key


def audit_key_for(session: Session) -> AuditKey:
    """The audit key bound to the session's engine, else the environment's installation's."""
    bind = session.get_bind()
    engine = bind.engine if isinstance(bind, Connection) else bind
    key = _bound.get(engine)
    if key is None:
        # Never create one here: a stray key would fork the installation's chain for good.
        key = load_audit_key(Settings(), create=False)
    return key
