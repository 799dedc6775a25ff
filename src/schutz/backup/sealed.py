"""The encrypted backup file: a header, then AES-256-GCM chunks in the STREAM construction.

Layout (all integers big-endian):

    magic      8 bytes   b"SCHUTZBK"
    hlen       4 bytes   length of the header
    header     hlen      UTF-8 JSON: format version, backend, created_at, key id, chunk size,
                         salt, schema, migration revision
    chunk*     4-byte length, then ciphertext + 16-byte GCM tag

The file key is HKDF-SHA256 (RFC 5869) of the master key named by `key_id`, with the random
per-file salt, so no two backups share a key and the master key itself is never written.
Each chunk's nonce is its counter (11 bytes) and a last-chunk flag (1 byte); the magic, the
length and the header are the associated data of every chunk. A changed header, a changed,
reordered or dropped chunk and a file cut short all fail the tag check (Hoang, Reyhanitabar,
Rogaway, Vizár: "Online Authenticated-Encryption and its Nonce-Reuse Misuse-Resistance",
CRYPTO 2015 -- the STREAM construction).
"""

from __future__ import annotations

import base64
import json
import os
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from schutz.backup.errors import BackupError

MAGIC = b"SCHUTZBK"
FORMAT_VERSION = 1
CHUNK_SIZE = 1 << 20
TAG_BYTES = 16
SALT_BYTES = 16
MAX_HEADER = 64 * 1024
MAX_CHUNK = 16 << 20
_INFO = b"schutz/backup/v1"
_LEN = struct.Struct(">I")

Advance = Callable[[int], None]


@dataclass(frozen=True, slots=True)
class Header:
    """What a backup says about itself; readable without the key, authenticated with it."""

    backend: str
    created_at: datetime
    key_id: str
    revision: str | None
    schema: str | None = None
    chunk_size: int = CHUNK_SIZE
    salt: bytes = b""
    version: int = FORMAT_VERSION

    def to_bytes(self) -> bytes:
        body = {
            "format": "schutz-backup",
            "version": self.version,
            "backend": self.backend,
            "created_at": self.created_at.isoformat(),
            "key_id": self.key_id,
            "revision": self.revision,
            "schema": self.schema,
            "chunk_size": self.chunk_size,
            "salt": base64.b64encode(self.salt).decode("ascii"),
            "cipher": "AES-256-GCM/STREAM",
            "kdf": "HKDF-SHA256",
        }
        return json.dumps(body, sort_keys=True, separators=(",", ":")).encode("utf-8")

    @classmethod
    def from_bytes(cls, raw: bytes) -> Header:
        try:
            body: dict[str, Any] = json.loads(raw.decode("utf-8"))
            if body.get("format") != "schutz-backup":
                raise ValueError("format")
            version = int(body["version"])
            if version != FORMAT_VERSION:
                raise BackupError(
                    f"backup format version {version} is not supported (this Schutz reads"
                    f" version {FORMAT_VERSION})"
                )
            chunk_size = int(body["chunk_size"])
            if not 0 < chunk_size <= MAX_CHUNK:
                raise ValueError("chunk_size")
            return cls(
                backend=str(body["backend"]),
                created_at=datetime.fromisoformat(str(body["created_at"])),
                key_id=str(body["key_id"]),
                revision=None if body.get("revision") is None else str(body["revision"]),
                schema=None if body.get("schema") is None else str(body["schema"]),
                chunk_size=chunk_size,
                salt=base64.b64decode(str(body["salt"]), validate=True),
                version=version,
            )
        except BackupError:
            raise
        except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
            raise BackupError("the backup's header is damaged") from exc


def file_key(master_secret: bytes, salt: bytes) -> bytes:
    """The AES-256 key of one backup file, derived from a master key and the file's salt."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=_INFO).derive(master_secret)


def _nonce(counter: int, last: bool) -> bytes:
    return counter.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


def _prefix(header: Header) -> bytes:
    raw = header.to_bytes()
    return MAGIC + _LEN.pack(len(raw)) + raw


def new_header(
    *, backend: str, created_at: datetime, key_id: str, revision: str | None, schema: str | None
) -> Header:
    return Header(
        backend=backend,
        created_at=created_at,
        key_id=key_id,
        revision=revision,
        schema=schema,
        salt=os.urandom(SALT_BYTES),
    )


def seal(
    source: IO[bytes],
    out: IO[bytes],
    header: Header,
    master_secret: bytes,
    advance: Advance | None = None,
) -> None:
    """Encrypt everything `source` yields into `out`, chunk by chunk, after the header."""
    prefix = _prefix(header)
    aead = AESGCM(file_key(master_secret, header.salt))
    out.write(prefix)
    counter = 0
    chunk = source.read(header.chunk_size)
    while True:
        following = source.read(header.chunk_size) if chunk else b""
        last = not following
        sealed = aead.encrypt(_nonce(counter, last), chunk, prefix)
        out.write(_LEN.pack(len(sealed)))
        out.write(sealed)
        if advance is not None:
            advance(len(chunk))
        if last:
            return
        chunk, counter = following, counter + 1


def read_header(stream: IO[bytes]) -> tuple[Header, bytes]:
    """The header and the raw prefix (the chunks' associated data); checks the magic."""
    magic = stream.read(len(MAGIC))
    if magic != MAGIC:
        raise BackupError("not a Schutz backup (the file does not start with its magic bytes)")
    raw_len = stream.read(_LEN.size)
    if len(raw_len) != _LEN.size:
        raise BackupError("the backup is truncated (it ends inside its header)")
    (length,) = _LEN.unpack(raw_len)
    if length > MAX_HEADER:
        raise BackupError("the backup's header is damaged")
    raw = stream.read(length)
    if len(raw) != length:
        raise BackupError("the backup is truncated (it ends inside its header)")
    return Header.from_bytes(raw), magic + raw_len + raw


def _read_chunk(stream: IO[bytes], limit: int) -> bytes | None:
    raw_len = stream.read(_LEN.size)
    if not raw_len:
        return None
    if len(raw_len) != _LEN.size:
        raise BackupError("the backup is truncated (it ends inside a chunk)")
    (length,) = _LEN.unpack(raw_len)
    if not TAG_BYTES <= length <= limit + TAG_BYTES:
        raise BackupError("the backup is damaged (a chunk has an impossible length)")
    data = stream.read(length)
    if len(data) != length:
        raise BackupError("the backup is truncated (it ends inside a chunk)")
    return data


def unseal(
    stream: IO[bytes], header: Header, prefix: bytes, master_secret: bytes
) -> Iterator[bytes]:
    """The plaintext chunks, each verified; fails on any change and on a missing end."""
    aead = AESGCM(file_key(master_secret, header.salt))
    counter = 0
    current = _read_chunk(stream, header.chunk_size)
    if current is None:
        raise BackupError("the backup is truncated (it holds no data)")
    while True:
        following = _read_chunk(stream, header.chunk_size)
        last = following is None
        try:
            yield aead.decrypt(_nonce(counter, last), current, prefix)
        except InvalidTag:
            if last:
                raise BackupError(
                    "the backup is truncated or damaged (its last chunk fails the check)"
                ) from None
            raise BackupError(
                f"the backup is damaged (chunk {counter + 1} fails its integrity check)"
            ) from None
        if following is None:
            return
        current, counter = following, counter + 1
