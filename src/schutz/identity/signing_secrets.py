"""The instance's link-signing secrets, `<data_dir>/secret.key`: one signs, retired ones verify.

Mailed links (newsletter confirmation and unsubscribe, request verification and export), the
public forms' tokens and the staff sign-in form are signed with the current secret and
accepted under any secret whose grace has not ended. `schutz secret rotate` makes a new
current secret and gives the old one a grace period: links mailed before keep working until
then, and stop afterwards.

The file (mode 0600; refused when others may read it) holds the current secret on its first
line, as files from before rotation existed do, then one line per retired secret:
`<secret> <end of its grace, ISO 8601 UTC>`. Lines starting with `#` are comments.
"""

from __future__ import annotations

import logging
import secrets
import stat
import threading
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from schutz.errors import SchutzError
from schutz.files import write_private

_log = logging.getLogger(__name__)

FILE_NAME = "secret.key"
MIN_LENGTH = 32
HEADER = (
    "# Schutz link-signing secrets. Keep secret. The first one signs; the others verify\n"
    "# until the time beside them. Change with `schutz secret rotate`.\n"
)


class SecretFileError(SchutzError):
    """secret.key is damaged or readable by others."""


@dataclass(frozen=True)
class RetiredSecret:
    secret: bytes
    retires_at: datetime


@dataclass(frozen=True)
class SigningSecrets:
    current: bytes
    retired: tuple[RetiredSecret, ...] = ()

    def accepted(self, now: datetime) -> list[bytes]:
        """The secrets that verify at `now`, oldest first and the current one last: the
        order itsdangerous takes a list of keys in (it signs with the last one)."""
        live = sorted((r for r in self.retired if now < r.retires_at), key=lambda r: r.retires_at)
        return [r.secret for r in live] + [self.current]


def secret_path(data_dir: Path) -> Path:
    return data_dir / FILE_NAME


def _new_secret() -> bytes:
    return secrets.token_hex(32).encode("ascii")


def _checked(value: str, where: str) -> bytes:
    if len(value) < MIN_LENGTH or not value.isascii():
        raise SecretFileError(f"{where}: a secret must be at least {MIN_LENGTH} ASCII characters")
    return value.encode("ascii")


def parse(text: str, where: str = FILE_NAME) -> SigningSecrets:
    """Read the file's text (see the module's docstring for the format)."""
    current: bytes | None = None
    retired: list[RetiredSecret] = []
    for number, line in enumerate(text.splitlines(), 1):
        fields = line.split()
        if not fields or fields[0].startswith("#"):
            continue
        here = f"{where}:{number}"
        if current is None and len(fields) == 1:
            current = _checked(fields[0], here)
        elif current is not None and len(fields) == 2:
            try:
                until = datetime.fromisoformat(fields[1])
            except ValueError:
                raise SecretFileError(f"{here}: not an ISO 8601 time: {fields[1]!r}") from None
            if until.tzinfo is None:
                raise SecretFileError(f"{here}: the time needs a zone, e.g. +00:00")
            retired.append(RetiredSecret(_checked(fields[0], here), until.astimezone(UTC)))
        else:
            raise SecretFileError(f"{here}: expected the current secret, then `secret time` lines")
    if current is None:
        raise SecretFileError(f"{where}: holds no secret")
    return SigningSecrets(current, tuple(retired))


def render(signing: SigningSecrets) -> str:
    lines = [signing.current.decode("ascii")]
    lines += [f"{r.secret.decode('ascii')} {r.retires_at.isoformat()}" for r in signing.retired]
    return HEADER + "\n".join(lines) + "\n"


def _write_private(path: Path, text: str, *, replace: bool) -> None:
    """Write `text` to `path` in one step, mode 0600. Without `replace`, an existing file wins
    (FileExistsError): two servers starting at once agree on one secret."""
    if not write_private(path, text, replace=replace):
        raise FileExistsError(path)


def read(path: Path) -> SigningSecrets:
    """The secrets in `path`; refused when the group or others may read or write the file."""
    mode = path.stat().st_mode
    if stat.S_IMODE(mode) & 0o077:
        raise SecretFileError(f"{path} may be read by others; make it private: chmod 600 {path}")
    try:
        text = path.read_text(encoding="ascii")
    except UnicodeDecodeError:
        raise SecretFileError(f"{path}: not ASCII text") from None
    return parse(text, str(path))


def load_or_create(data_dir: Path) -> SigningSecrets:
    """The instance's secrets, with a first secret created (mode 0600) if there is none."""
    path = secret_path(data_dir)
    if not path.exists():
        with suppress(FileExistsError):  # another process made it first: use theirs
            _write_private(path, render(SigningSecrets(_new_secret())), replace=False)
    return read(path)


def rotate(data_dir: Path, *, grace: timedelta, now: datetime) -> SigningSecrets:
    """Make a new current secret; the old one verifies for `grace` more, then stops.

    Secrets whose grace has already ended are dropped from the file.
    """
    if grace < timedelta(0):
        raise SecretFileError("the grace period cannot be negative")
    old = load_or_create(data_dir)
    kept = [r for r in old.retired if now < r.retires_at]
    if grace > timedelta(0):
        kept.append(RetiredSecret(old.current, now + grace))
    rotated = SigningSecrets(_new_secret(), tuple(kept))
    _write_private(secret_path(data_dir), render(rotated), replace=True)
    return rotated


class SecretsFile:
    """secret.key as a running server sees it: re-read when it changes (one `stat` per use),
    so a rotation reaches every server that shares the file without a restart."""

    def __init__(self, data_dir: Path) -> None:
        self.path = secret_path(data_dir)
        self._lock = threading.Lock()
        self._secrets = load_or_create(data_dir)
        self._stamp = self._stat()

    def _stat(self) -> tuple[int, int, int] | None:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def accepted(self, now: datetime) -> list[bytes]:
        """The secrets that verify now, the signing one last (see SigningSecrets)."""
        stamp = self._stat()
        if stamp is not None and stamp != self._stamp:
            with self._lock:
                try:
                    self._secrets = read(self.path)
                except (OSError, SecretFileError) as exc:
                    _log.warning("keeping the signing secrets loaded before: %s", exc)
                self._stamp = stamp
        return self._secrets.accepted(now)
