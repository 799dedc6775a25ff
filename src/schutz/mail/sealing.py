"""What mail needs from whoever seals its payloads: no address or text rests in the clear.

Every e-mail payload is sealed before it is stored (Art. 32(1)(a) GDPR, invariant 3), under
the data key of the subject it is about (so that the subject's erasure shreds it) or under a
key of its own bound to the outbox row. Mail holds no key and knows no subject: it is handed
a `Sealer` (the vault's keyring is one, see `schutz.vault.mail_seal`), at enqueue time by the
service that queues the mail and at delivery time by the worker, its composition root.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Protocol

from sqlalchemy.orm import Session

SEAL_CONTEXT = "outbox"


class Sealer(Protocol):
    """Seals and opens outbox payloads; raises `NotFound` once the subject is erased and
    `IntegrityCheckError` for a blob that was altered, moved or cannot be unwrapped."""

    def seal_mail(
        self, session: Session, plaintext: bytes, *, subject_id: str | None, ref: str
    ) -> dict[str, Any]: ...

    def open_mail(self, session: Session, sealed: Mapping[str, Any]) -> bytes: ...


def _plain(payload: Mapping[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def seal_payload(
    session: Session,
    sealer: Sealer,
    payload: Mapping[str, Any],
    *,
    subject_id: str | None,
    ref: str,
) -> dict[str, Any]:
    """`payload` as JSON, sealed: under `subject_id`'s key, or under one of its own for `ref`."""
    return sealer.seal_mail(session, _plain(payload), subject_id=subject_id, ref=ref)


def open_payload(session: Session, sealer: Sealer, payload: Mapping[str, Any]) -> dict[str, Any]:
    """The payload as it was queued.

    Raises `NotFound` when the subject of a sealed payload has been erased (the mail can no
    longer be read by anyone) and `IntegrityCheckError` when the blob was altered or moved.
    A payload without a seal (a webhook's, or a row queued before sealing) is returned as is.
    """
    if "sealed" not in payload:
        return dict(payload)
    opened: dict[str, Any] = json.loads(sealer.open_mail(session, payload))
    return opened
