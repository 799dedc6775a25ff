"""Sealing outbox mail for the mail domain: no address, name or message rests in the clear.

Mail stores sealed blobs and knows no key; the vault seals them (`mail.sealing.Sealer`, which
the `Keyring` provides through these functions). Every e-mail payload is sealed before it is
stored (Art. 32(1)(a) GDPR, invariant 3):

* A mail about a data subject is sealed under that subject's data key (context "outbox")
  and stored as `{"sealed", "subject_id"}`. The subject's erasure destroys the key, so a
  queued copy can never be read again, and the erasure deletes the row itself
  (`mail.retention.forget_subject`).
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
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from schutz.errors import IntegrityCheckError, SchutzError
from schutz.mail.sealing import SEAL_CONTEXT
from schutz.vault.crypto import FieldCipher, new_data_key
from schutz.vault.subject_keys import cipher_of, live_subject

if TYPE_CHECKING:
    from schutz.vault.keys import Keyring


_OWN_KEY_VERSION = 1


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _own_owner(ref: str) -> str:
    """The name a per-mail key is wrapped and sealed for: the outbox row it belongs to."""
    return f"outbox:{ref}"


def seal_mail(
    keyring: Keyring, session: Session, plaintext: bytes, *, subject_id: str | None, ref: str
) -> dict[str, Any]:
    """`plaintext` under the subject's key, or (no subject) under a fresh key of its own.

    `ref` (the outbox row's id) is bound into the own key's wrapping and ciphertext, so the
    blob opens only as the mail it was queued as. Raises `NotFound` for an erased subject.
    """
    if subject_id is not None:
        cipher = cipher_of(keyring, live_subject(session, subject_id))
        return {"sealed": _b64(cipher.seal(SEAL_CONTEXT, plaintext)), "subject_id": subject_id}
    data_key = new_data_key()
    key_id, wrapped = keyring.wrap(data_key, subject_id=_own_owner(ref))
    cipher = FieldCipher(data_key, subject_id=_own_owner(ref), key_version=_OWN_KEY_VERSION)
    return {
        "sealed": _b64(cipher.seal(SEAL_CONTEXT, plaintext)),
        "key": _b64(wrapped),
        "key_id": key_id,
        "ref": ref,
    }


def open_mail(keyring: Keyring, session: Session, sealed: Mapping[str, Any]) -> bytes:
    """The plaintext `seal_mail` sealed.

    Raises `NotFound` once the subject is erased (nobody can read the mail any more) and
    `IntegrityCheckError` for a blob altered or moved, or wrapped under an unknown key.
    """
    blob = base64.b64decode(sealed["sealed"])
    if "key" not in sealed:
        cipher = cipher_of(keyring, live_subject(session, str(sealed["subject_id"])))
        return cipher.open(SEAL_CONTEXT, blob)
    owner = _own_owner(str(sealed["ref"]))
    try:
        data_key = keyring.unwrap(
            base64.b64decode(sealed["key"]), subject_id=owner, key_id=str(sealed["key_id"])
        )
    except IntegrityCheckError:
        raise
    except SchutzError:  # a master key no longer in the keyring
        raise IntegrityCheckError("the key of a sealed mail cannot be unwrapped") from None
    cipher = FieldCipher(data_key, subject_id=owner, key_version=_OWN_KEY_VERSION)
    return cipher.open(SEAL_CONTEXT, blob)
