"""The mail domain's public face: the outbox writers enqueue into, the delivery workers run.

Writers call `enqueue_mail` (or `enqueue`) inside the transaction that causes the message
(`outbox.py`); workers call `deliver_due` (`delivery.py`). Every e-mail is sealed before it
is stored, by the `Sealer` the caller hands in (`sealing.py`; the vault's keyring is one):
under the data key of the subject it is about, or under a key of its own for someone Schutz
holds no subject for. Mail imports no vault code; the vault sits above it and calls
`retention.forget_subject` from an erasure.
"""

from __future__ import annotations

from schutz.mail.delivery import (
    ERASED,
    LEASE,
    MAX_ATTEMPTS,
    DeliveryReport,
    backoff,
    deliver_due,
)
from schutz.mail.outbox import enqueue, enqueue_mail
from schutz.mail.retention import purge_finished
from schutz.mail.sealing import SEAL_CONTEXT, Sealer, open_payload, seal_payload
from schutz.mail.vocabulary import OutboxKind, OutboxStatus

__all__ = [
    "ERASED",
    "LEASE",
    "MAX_ATTEMPTS",
    "SEAL_CONTEXT",
    "DeliveryReport",
    "OutboxKind",
    "OutboxStatus",
    "Sealer",
    "backoff",
    "deliver_due",
    "enqueue",
    "enqueue_mail",
    "open_payload",
    "purge_finished",
    "seal_payload",
]
