"""Sealed look-up jobs: what a public form asked for, kept until the worker handles it.

A public form (privacy-centre sign-in, request form and API, newsletter sign-up) must answer
at once and alike whether or not the address is known (DESIGN "Equal answers"): the vault
look-up, the key unwrap and the mail would otherwise make a known address measurably
slower. The route only seals the job and answers; `schutz.subject_requests.deferred` does
the rest after the response has left. The job holds the address before we know whose it
is, so it is sealed (AES-256-GCM) under a key derived from the master key with HKDF, and
deleted once handled.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy.orm import Session

from schutz.db import note_work
from schutz.errors import SchutzError
from schutz.subject_requests.models import PendingLookup
from schutz.vault.keys import Keyring, MasterKey

_INFO = b"schutz/pending-lookup/v1"
ACCOUNT_LINK = "account_link"
REQUEST = "request"
NEWSLETTER = "newsletter"
OBJECTION = "objection"


class LookupUnreadable(SchutzError):
    """A job's blob fails its check (altered, moved, or its master key is gone)."""


@dataclass(frozen=True, slots=True)
class Job:
    id: str
    kind: str
    data: dict[str, Any]


def _aead(master: MasterKey) -> AESGCM:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO)
    return AESGCM(hkdf.derive(master.secret))


def _aad(job_id: str, kind: str) -> bytes:
    return f"{job_id}|{kind}".encode()


def defer(
    session: Session, keyring: Keyring, kind: str, data: dict[str, Any], *, now: datetime
) -> str:
    """Queue `data` sealed for the worker; flushed, not committed. Returns the job id."""
    job_id = secrets.token_hex(16)
    nonce = secrets.token_bytes(12)
    plain = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    master = keyring.active
    sealed = nonce + _aead(master).encrypt(nonce, plain, _aad(job_id, kind))
    session.add(
        PendingLookup(id=job_id, kind=kind, key_id=master.key_id, sealed=sealed, created_at=now)
    )
    session.flush()
    note_work(session)
    return job_id


def open_job(keyring: Keyring, row: PendingLookup) -> Job:
    """The job as it was queued; `LookupUnreadable` if its blob is not genuine."""
    try:
        master = keyring.get(row.key_id)
        blob = bytes(row.sealed)
        plain = _aead(master).decrypt(blob[:12], blob[12:], _aad(row.id, row.kind))
    except (SchutzError, InvalidTag, ValueError) as exc:
        raise LookupUnreadable("a pending look-up fails its integrity check") from exc
    data: dict[str, Any] = json.loads(plain)
    return Job(row.id, row.kind, data)
