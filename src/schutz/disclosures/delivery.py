"""Handing disclosures to the webhook sender and noting what each attempt did.

The outbox row carries only the disclosure's id; the sender reads the sealed body here in a
short transaction, and a retry queues a new row with the same Idempotency-Key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from schutz.audit import service as audit
from schutz.disclosures.models import Disclosure, DisclosureStatus, RecipientEndpoint
from schutz.disclosures.sealing import PAYLOAD_LABEL, subject_key
from schutz.errors import Conflict, NotFound
from schutz.mail.service import enqueue
from schutz.mail.vocabulary import OutboxKind
from schutz.vault.keys import Keyring


@dataclass(frozen=True, slots=True)
class PendingDelivery:
    """What the webhook sender needs for one disclosure, read in one short transaction."""

    disclosure_id: str
    recipient: str
    url: str | None
    secret_file: str | None
    body: bytes
    delivered: bool


def retry_disclosure(session: Session, disclosure_id: str, *, actor: str, now: datetime) -> None:
    """Send a dead disclosure again: a new outbox row, the same Idempotency-Key.

    The receiver sees the disclosure's own id as the key on every attempt, so sending it
    again can never become a second shipment.
    """
    row = session.get(Disclosure, disclosure_id)
    if row is None:
        raise NotFound("no such disclosure")
    if row.status != DisclosureStatus.DEAD.value:
        raise Conflict("only a dead delivery can be sent again")
    row.retries += 1
    outbox = enqueue(
        session,
        kind=OutboxKind.WEBHOOK,
        payload={"disclosure_id": row.id},
        idempotency_key=f"disclosure:{row.id}:retry:{row.retries}",
        now=now,
    )
    row.outbox_id, row.status = outbox.id, DisclosureStatus.QUEUED.value
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="disclosure.retried",
        subject_id=row.subject_id,
        purpose=row.purpose,
        details={"disclosure": row.id, "recipient": row.recipient, "retries": row.retries},
        now=now,
    )


def pending_delivery(session: Session, keyring: Keyring, disclosure_id: str) -> PendingDelivery:
    """Everything the sender needs to post one disclosure; `NotFound` once erased."""
    found = session.execute(
        select(Disclosure, RecipientEndpoint.url, RecipientEndpoint.secret_file)
        .outerjoin(RecipientEndpoint, RecipientEndpoint.recipient == Disclosure.recipient)
        .where(Disclosure.id == disclosure_id)
    ).one_or_none()
    if found is None:
        raise NotFound("no such disclosure")
    row, url, secret_file = found
    key = subject_key(session, keyring, row.subject_id)
    body = key.open(PAYLOAD_LABEL, row.id, row.payload, row.key_version).encode("utf-8")
    return PendingDelivery(
        disclosure_id=row.id,
        recipient=row.recipient,
        url=url,
        secret_file=secret_file,
        body=body,
        delivered=row.delivered_at is not None,
    )


def record_outcome(
    session: Session,
    disclosure_id: str,
    *,
    status: DisclosureStatus,
    error: str | None,
    now: datetime,
) -> None:
    """Note what the last attempt did; a delivered disclosure stays delivered."""
    values: dict[str, Any] = {"status": status.value, "last_error": error}
    if status is DisclosureStatus.DELIVERED:
        values["delivered_at"] = now
    session.execute(
        update(Disclosure)
        .where(Disclosure.id == disclosure_id, Disclosure.delivered_at.is_(None))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
