"""Sealing outbox payloads: no address, name or message rests in the outbox in the clear.

Every e-mail payload is sealed before it is stored (Art. 32(1)(a) GDPR, invariant 3):

* A mail about a data subject is sealed under that subject's data key
  (`vault.seal_for_subject`, context "outbox") and stored as `{"sealed", "subject_id"}`.
  The subject's erasure destroys the key, so a queued copy can never be read again, and
  the erasure deletes the row itself (`mail.retention.forget_subject`).
* A mail to someone Schutz holds no subject for (a request from an unknown address, the
  confirmation sent after an erasure) gets a key of its own: a fresh AES-256 key, wrapped
  under the master key and bound to the outbox row, stored as `{"sealed", "key", "key_id",
  "ref"}`. The key lives in that row only, so purging the row shreds it; such rows are
  purged by the first retention run after they are finished, whatever their age. Creating
  a vault subject for such a requester instead was rejected: anyone may name any address
  in a request, and Schutz must not start a record about a person on a stranger's word.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from schutz.vault import service as vault
from schutz.vault.crypto import FieldCipher, new_data_key
from schutz.vault.keys import Keyring

SEAL_CONTEXT = "outbox"
_OWN_KEY_VERSION = 1


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _own_owner(ref: str) -> str:
    """The name a per-mail key is wrapped and sealed for: the outbox row it belongs to."""
    return f"outbox:{ref}"


def _plain(payload: Mapping[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def seal_payload(
    session: Session, keyring: Keyring, subject_id: str, payload: dict[str, Any]
) -> dict[str, Any]:
    """`{"sealed": <base64>, "subject_id": ...}`: `payload` as JSON under the subject's key."""
    sealed = vault.seal_for_subject(
        session, keyring, subject_id, _plain(payload), context=SEAL_CONTEXT
    )
    return {"sealed": _b64(sealed), "subject_id": subject_id}


def seal_with_own_key(keyring: Keyring, ref: str, payload: dict[str, Any]) -> dict[str, Any]:
    """`payload` under a fresh key of its own, wrapped under the active master key.

    `ref` (the outbox row's id) is bound into both the wrapping and the ciphertext, so the
    blob opens only as the mail it was queued as.
    """
    data_key = new_data_key()
    key_id, wrapped = keyring.wrap(data_key, subject_id=_own_owner(ref))
    cipher = FieldCipher(data_key, subject_id=_own_owner(ref), key_version=_OWN_KEY_VERSION)
    return {
        "sealed": _b64(cipher.seal(SEAL_CONTEXT, _plain(payload))),
        "key": _b64(wrapped),
        "key_id": key_id,
        "ref": ref,
    }


def open_payload(session: Session, keyring: Keyring, payload: Mapping[str, Any]) -> dict[str, Any]:
    """The payload as it was queued.

    Raises `NotFound` when the subject of a sealed payload has been erased (the mail can no
    longer be read by anyone) and `IntegrityCheckError` when the blob was altered or moved.
    A payload without a seal (a webhook's, or a row queued before sealing) is returned as is.
    """
    if "sealed" not in payload:
        return dict(payload)
    blob = base64.b64decode(payload["sealed"])
    if "key" in payload:
        owner = _own_owner(str(payload["ref"]))
        data_key = keyring.unwrap(
            base64.b64decode(payload["key"]), subject_id=owner, key_id=str(payload["key_id"])
        )
        cipher = FieldCipher(data_key, subject_id=owner, key_version=_OWN_KEY_VERSION)
        plain = cipher.open(SEAL_CONTEXT, blob)
    else:
        plain = vault.open_for_subject(
            session, keyring, str(payload["subject_id"]), blob, context=SEAL_CONTEXT
        )
    opened: dict[str, Any] = json.loads(plain)
    return opened
