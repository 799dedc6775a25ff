"""How one entry is sealed into the chain: HMAC-SHA256 over its canonical form and the MAC before.

Pure functions, no database. The MAC input is a canonical JSON array of the entry's fields
ending with the previous entry's MAC, so changing, moving or dropping an entry breaks the
link to every later one, and nobody without the audit key can compute a MAC that fits
(RFC 2104). `legacy_hash` is the unkeyed SHA-256 of entries written before the chain was
keyed; only `schutz audit rekey` still reads it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any, Protocol

from schutz.audit.keys import AuditKey

GENESIS = "0" * 64
_DOMAIN = "schutz/audit-entry/v2"


class EntryFields(Protocol):
    """What the MAC covers: an `AuditEntry`, or anything with the same attributes."""

    @property
    def seq(self) -> int: ...
    @property
    def at(self) -> datetime: ...
    @property
    def actor(self) -> str: ...
    @property
    def action(self) -> str: ...
    @property
    def subject_id(self) -> str | None: ...
    @property
    def purpose(self) -> str | None: ...
    @property
    def details(self) -> dict[str, Any]: ...
    @property
    def flagged(self) -> bool: ...


def _fields(entry: EntryFields, prev_hash: str) -> list[Any]:
    return [
        entry.seq,
        entry.at.astimezone(UTC).isoformat(timespec="microseconds"),
        entry.actor,
        entry.action,
        entry.subject_id,
        entry.purpose,
        entry.details,
        entry.flagged,
        prev_hash,
    ]


def _canonical(value: list[Any]) -> bytes:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def entry_mac(key: AuditKey, entry: EntryFields, prev_hash: str) -> str:
    """HMAC-SHA256 (hex) of the entry's canonical form and `prev_hash` under the audit key."""
    message = _canonical([_DOMAIN, *_fields(entry, prev_hash)])
    return hmac.new(key.secret, message, hashlib.sha256).hexdigest()


def legacy_hash(entry: EntryFields, prev_hash: str) -> str:
    """The unkeyed SHA-256 that entries carried before the chain was keyed (migration 0008)."""
    return hashlib.sha256(_canonical(_fields(entry, prev_hash))).hexdigest()


def macs_equal(a: str, b: str) -> bool:
    """Constant-time comparison, so timing never tells how much of a MAC was right."""
    return hmac.compare_digest(a.encode("ascii", "replace"), b.encode("ascii", "replace"))
