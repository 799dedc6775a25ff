"""The sealed stream: round trips at every size, and every cut, swap or flip is caught."""

from __future__ import annotations

import io
import os
import struct
from datetime import UTC, datetime

import pytest

from schutz.backup.errors import BackupError
from schutz.backup.sealed import Header, new_header, read_header, seal, unseal

SECRET = os.urandom(32)


def _header(chunk_size: int) -> Header:
    header = new_header(
        backend="sqlite",
        created_at=datetime(2026, 11, 15, tzinfo=UTC),
        key_id="k1",
        revision="0007",
        schema=None,
    )
    return Header(**{**{f: getattr(header, f) for f in header.__slots__}, "chunk_size": chunk_size})


def _sealed(data: bytes, chunk_size: int = 16) -> bytes:
    out = io.BytesIO()
    seal(io.BytesIO(data), out, _header(chunk_size), SECRET)
    return out.getvalue()


def _open(blob: bytes, secret: bytes = SECRET) -> bytes:
    stream = io.BytesIO(blob)
    header, prefix = read_header(stream)
    return b"".join(unseal(stream, header, prefix, secret))


def _chunks(blob: bytes) -> tuple[bytes, list[bytes]]:
    """The prefix and the framed chunks of a sealed blob."""
    (hlen,) = struct.unpack(">I", blob[8:12])
    at = 12 + hlen
    prefix, chunks = blob[:at], []
    while at < len(blob):
        (n,) = struct.unpack(">I", blob[at : at + 4])
        chunks.append(blob[at : at + 4 + n])
        at += 4 + n
    return prefix, chunks


@pytest.mark.parametrize("size", [0, 1, 15, 16, 17, 32, 100])
def test_round_trip(size: int) -> None:
    data = os.urandom(size)
    assert _open(_sealed(data)) == data


def test_the_header_is_readable_without_the_key() -> None:
    header, _ = read_header(io.BytesIO(_sealed(b"x")))
    assert (header.backend, header.key_id, header.revision, header.chunk_size) == (
        "sqlite",
        "k1",
        "0007",
        16,
    )


def _drop_last(blob: bytes) -> bytes:
    prefix, chunks = _chunks(blob)
    return prefix + b"".join(chunks[:-1])


def _swap(blob: bytes) -> bytes:
    prefix, chunks = _chunks(blob)
    return prefix + chunks[1] + chunks[0] + b"".join(chunks[2:])


def _append(blob: bytes) -> bytes:
    _, chunks = _chunks(blob)
    return blob + chunks[0]


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        (_drop_last, "truncated"),
        (_swap, "damaged"),
        (_append, "damaged"),
        (lambda b: b[:-1], "truncated"),
        (lambda b: b"X" + b[1:], "not a Schutz backup"),
        (lambda b: b[:10], "truncated"),
    ],
    ids=["last-chunk-dropped", "chunks-swapped", "chunk-appended", "cut", "magic", "in-header"],
)
def test_changes_are_detected(change: object, needle: str) -> None:
    blob = _sealed(os.urandom(100))
    with pytest.raises(BackupError, match=needle):
        _open(change(blob))  # type: ignore[operator]


def test_another_key_cannot_open_it() -> None:
    with pytest.raises(BackupError):
        _open(_sealed(b"secret data"), os.urandom(32))
