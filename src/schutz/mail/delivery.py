"""Taking deliveries out of the outbox: claim under a lease, deliver with no lock held, record.

Workers call `deliver_due`, which claims due rows, opens their sealed payloads with the
`Sealer` the worker hands in (in memory only), sends them with the kind's `Sender` and
commits each outcome. A payload whose subject was erased cannot be opened: it goes dead and
is never sent.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from schutz.config import Settings
from schutz.db import transaction
from schutz.errors import IntegrityCheckError, InvalidInput, NotFound
from schutz.mail.models import OutboxMessage
from schutz.mail.sealing import Sealer, open_payload
from schutz.mail.transport import (
    Delivery,
    PermanentDeliveryError,
    Sender,
    describe_failure,
    email_sender,
)
from schutz.mail.vocabulary import OutboxKind, OutboxStatus

MAX_ATTEMPTS = 8
"""Attempts before a row is given up as dead (about four hours of back-off in all)."""
FIRST_RETRY = timedelta(minutes=1)
LONGEST_WAIT = timedelta(hours=2)
LEASE = timedelta(minutes=5)
"""How long a worker owns a claimed row; a row whose worker died is claimed again after it."""

ERASED = "subject erased"
"""`last_error` of a mail whose subject was erased before it left: nothing personal in it."""


def backoff(attempts: int) -> timedelta:
    """The wait after `attempts` failed attempts: 1, 2, 4, ... minutes, at most two hours."""
    return min(FIRST_RETRY * (1 << min(max(attempts - 1, 0), 16)), LONGEST_WAIT)


@dataclass
class DeliveryReport:
    """What one `deliver_due` pass did, by outbox id."""

    sent: list[str] = field(default_factory=list)
    retrying: list[str] = field(default_factory=list)
    dead: list[str] = field(default_factory=list)


def _due(kind: OutboxKind, now: datetime) -> Any:
    return and_(
        OutboxMessage.kind == kind.value,
        or_(
            OutboxMessage.status == OutboxStatus.PENDING.value,
            OutboxMessage.status == OutboxStatus.SENDING.value,  # a lease that ran out
        ),
        OutboxMessage.next_attempt_at <= now,
    )


def _lease(session: Session, kind: OutboxKind, now: datetime, limit: int, claimed: Any) -> None:
    """Mark up to `limit` due rows as this pass's (`claimed` holds the lease's values).

    PostgreSQL: `SELECT ... FOR UPDATE SKIP LOCKED`, so parallel workers take different rows.
    SQLite: one UPDATE first, which takes the database's write lock before anything is read,
    so two workers never claim the same row and no read transaction needs upgrading.
    """
    due = select(OutboxMessage.id).where(_due(kind, now)).order_by(OutboxMessage.next_attempt_at)
    if session.get_bind().dialect.name == "postgresql":
        ids = list(session.scalars(due.limit(limit).with_for_update(skip_locked=True)))
        if ids:
            session.execute(
                update(OutboxMessage).where(OutboxMessage.id.in_(ids)).values(**claimed)
            )
        return
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(due.limit(limit).scalar_subquery()), _due(kind, now))
        .values(**claimed)
        .execution_options(synchronize_session=False)
    )


def _claim(
    factory: sessionmaker[Session], kind: OutboxKind, now: datetime, limit: int, lease: timedelta
) -> tuple[str, list[Delivery]]:
    """Lease up to `limit` due rows to this pass and return them with the lease's token."""
    token = secrets.token_hex(16)
    claimed = {
        "status": OutboxStatus.SENDING.value,
        "lease_token": token,
        "attempts": OutboxMessage.attempts + 1,
        "next_attempt_at": now + lease,
    }
    with transaction(factory) as session:
        _lease(session, kind, now, limit, claimed)
        rows = session.execute(
            select(
                OutboxMessage.id,
                OutboxMessage.idempotency_key,
                OutboxMessage.payload,
                OutboxMessage.attempts,
            )
            .where(OutboxMessage.lease_token == token)
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.created_at)
        ).all()
    deliveries = [
        Delivery(
            id=r.id,
            idempotency_key=r.idempotency_key,
            payload=r.payload,
            attempt=r.attempts,
            now=now,
        )
        for r in rows
    ]
    return token, deliveries


def _settle(
    factory: sessionmaker[Session], token: str, row_id: str, values: dict[str, Any]
) -> None:
    """Record an outcome, but only while this pass still holds the row's lease."""
    with transaction(factory) as session:
        session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id == row_id,
                OutboxMessage.lease_token == token,
                OutboxMessage.status == OutboxStatus.SENDING.value,
            )
            .values(lease_token=None, **values)
            .execution_options(synchronize_session=False)
        )


def _failed(
    delivery: Delivery, exc: Exception, *, now: datetime, max_attempts: int
) -> dict[str, Any]:
    """The row's new values after a failed attempt: dead, or pending after a back-off."""
    if isinstance(exc, PermanentDeliveryError) or delivery.attempt >= max_attempts:
        values: dict[str, Any] = {"status": OutboxStatus.DEAD.value}
    else:
        values = {
            "status": OutboxStatus.PENDING.value,
            "next_attempt_at": now + backoff(delivery.attempt),
        }
    values["last_error"] = describe_failure(exc)[:500]
    return values


def deliver_due(
    session_factory: sessionmaker[Session],
    settings: Settings,
    *,
    now: datetime,
    keys: Sealer | None = None,
    limit: int = 50,
    kind: OutboxKind = OutboxKind.EMAIL,
    send: Sender | None = None,
    max_attempts: int = MAX_ATTEMPTS,
    lease: timedelta = LEASE,
) -> DeliveryReport:
    """Deliver up to `limit` rows of `kind` that are due at `now`; commit each outcome.

    E-mail is opened with `keys` (it is always sealed) and goes over SMTP when
    `settings.smtp_url` is set and into `<data_dir>/outbox/<id>.eml` otherwise; other kinds
    pass their own `send`. A failure waits `backoff(attempts)` and is tried again; a
    permanent refusal (SMTP 5yz) or the `max_attempts`-th failure makes the row dead. A row
    is marked `sending` under a lease before it goes out and `sent` right after, so no pass
    sends it again; the .eml file is written once per row id whatever happens.
    """
    if send is None:
        if kind is not OutboxKind.EMAIL:
            raise InvalidInput(f"no sender given for outbox kind {kind.value!r}")
        send = email_sender(settings)
    if kind is OutboxKind.EMAIL and keys is None:
        raise InvalidInput("e-mail delivery needs the keys its payloads were sealed with")
    report = DeliveryReport()
    token, deliveries = _claim(session_factory, kind, now, limit, lease)
    deliveries, unreadable = _open_sealed(session_factory, keys, deliveries)
    for delivery_id, reason in unreadable.items():
        # Never retried: the key is gone (erasure) or the blob is not genuine.
        dead = {"status": OutboxStatus.DEAD.value, "last_error": reason}
        _settle(session_factory, token, delivery_id, dead)
        report.dead.append(delivery_id)
    for delivery in deliveries:
        try:
            send(delivery)
        except Exception as exc:
            # Any failure is recorded and retried, never raised: one bad row must not stop
            # the others in this pass.
            values = _failed(delivery, exc, now=now, max_attempts=max_attempts)
            dead_now = values["status"] == OutboxStatus.DEAD.value
            (report.dead if dead_now else report.retrying).append(delivery.id)
            _settle(session_factory, token, delivery.id, values)
        else:
            sent = {"status": OutboxStatus.SENT.value, "sent_at": now, "last_error": None}
            _settle(session_factory, token, delivery.id, sent)
            report.sent.append(delivery.id)
    return report


def _open_sealed(
    factory: sessionmaker[Session], keys: Sealer | None, deliveries: list[Delivery]
) -> tuple[list[Delivery], dict[str, str]]:
    """Open the sealed payloads of a claimed batch in one read transaction.

    Returns the deliveries to send, with their payloads in the clear (in memory only), and
    `{id: reason}` for those that cannot be read: "subject erased" or a failed check.
    """
    if keys is None or not any("sealed" in d.payload for d in deliveries):
        return deliveries, {}
    ready: list[Delivery] = []
    unreadable: dict[str, str] = {}
    with transaction(factory) as session:
        for delivery in deliveries:
            try:
                payload = open_payload(session, keys, delivery.payload)
            except NotFound:
                unreadable[delivery.id] = ERASED
                continue
            except IntegrityCheckError:
                unreadable[delivery.id] = "sealed payload fails its integrity check"
                continue
            if delivery.payload.get("ref", delivery.id) != delivery.id:
                unreadable[delivery.id] = "sealed payload belongs to another row"
                continue
            ready.append(replace(delivery, payload=payload))
    return ready, unreadable
