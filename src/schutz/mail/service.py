"""Putting deliveries into the outbox and taking them out: enqueue in a transaction, deliver after.

Writers call `enqueue_mail` (or `enqueue`) inside the transaction that causes the message;
nothing leaves before that transaction commits. Workers call `deliver_due`, which claims due
rows under a lease, delivers them with no database lock held, and records the outcome.

Every e-mail is sealed before it is stored (`sealing.py`): under the data key of the subject
it is about, or under a key of its own for someone Schutz holds no subject for. The row holds
no address or text in the clear, and the subject's erasure (crypto-shredding, Art. 17 GDPR)
makes a queued mail unreadable, so it is never sent. Mail calls the vault's service directly:
both are domain modules on the same level, and the worker, which builds nothing but the
settings, could not hand in a sealer without an edge knowing about vault keys.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from schutz.config import Settings
from schutz.db import note_work, transaction
from schutz.errors import InvalidInput, NotFound
from schutz.mail.models import OutboxKind, OutboxMessage, OutboxStatus
from schutz.mail.retention import purge_finished
from schutz.mail.sealing import SEAL_CONTEXT, open_payload, seal_payload, seal_with_own_key
from schutz.mail.transport import (
    Delivery,
    PermanentDeliveryError,
    Sender,
    describe_failure,
    email_sender,
)
from schutz.vault.crypto import IntegrityCheckError
from schutz.vault.keys import Keyring, KeyringError, load_keyring

__all__ = [
    "ERASED",
    "SEAL_CONTEXT",
    "DeliveryReport",
    "backoff",
    "deliver_due",
    "enqueue",
    "enqueue_mail",
    "open_payload",
    "purge_finished",
    "seal_payload",
]

MAX_ATTEMPTS = 8
"""Attempts before a row is given up as dead (about four hours of back-off in all)."""
FIRST_RETRY = timedelta(minutes=1)
LONGEST_WAIT = timedelta(hours=2)
LEASE = timedelta(minutes=5)
"""How long a worker owns a claimed row; a row whose worker died is claimed again after it."""

ERASED = "subject erased"
"""`last_error` of a mail whose subject was erased before it left: nothing personal in it."""

# RFC 5322 §3.6.8: a field name is printable ASCII except the colon.
_FIELD_NAME = re.compile(r"[!-9;-~]+")
_RESERVED_HEADERS = frozenset({"to", "subject", "date", "message-id", "cc", "bcc"})


def backoff(attempts: int) -> timedelta:
    """The wait after `attempts` failed attempts: 1, 2, 4, ... minutes, at most two hours."""
    return min(FIRST_RETRY * (1 << min(max(attempts - 1, 0), 16)), LONGEST_WAIT)


def enqueue(
    session: Session,
    *,
    kind: OutboxKind,
    payload: dict[str, Any],
    idempotency_key: str,
    now: datetime,
    row_id: str | None = None,
) -> OutboxMessage:
    """Add a delivery to the outbox in the caller's transaction (flushed, not committed).

    The same `idempotency_key` twice returns the row already there and adds nothing, so a
    retried request never mails or calls out twice. `row_id` is the id the caller sealed
    the payload for; by default a fresh one.
    """
    if not idempotency_key or len(idempotency_key) > 200:
        raise InvalidInput("an outbox idempotency key must have 1 to 200 characters")
    existing = session.scalars(
        select(OutboxMessage).where(OutboxMessage.idempotency_key == idempotency_key)
    ).first()
    if existing is not None:
        return existing
    row = OutboxMessage(
        id=row_id or secrets.token_hex(16),
        kind=kind.value,
        idempotency_key=idempotency_key,
        payload=payload,
        status=OutboxStatus.PENDING.value,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(row)
    session.flush()
    note_work(session)
    return row


def _check_header_value(name: str, value: str) -> None:
    if "\r" in value or "\n" in value:
        # Header injection: a line break would let a value add headers or recipients.
        raise InvalidInput(f"mail header {name} must be a single line")


def enqueue_mail(
    session: Session,
    *,
    to: str,
    subject: str,
    body: str,
    headers: dict[str, str] | None = None,
    idempotency_key: str,
    now: datetime,
    keyring: Keyring,
    subject_id: str | None = None,
) -> OutboxMessage:
    """Queue one plain-text e-mail to one address; it is sent only after the caller commits.

    `headers` adds fields such as `List-Unsubscribe` and `List-Unsubscribe-Post`
    (RFC 2369, RFC 8058) or `From`; To, Subject, Date and Message-ID are Schutz's to set.
    The payload is always sealed (Art. 32(1)(a) GDPR): with `subject_id` under that
    subject's data key, so that an erasure before delivery stops the mail and deletes it
    (Art. 17); without, under a key of its own that goes with the row (`sealing.py`). Pass
    the subject a mail is *about*, even when it goes to someone else (a contact form's
    forward to support names the sender).
    """
    try:
        address = validate_email(to, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise InvalidInput("the e-mail address is not valid") from exc
    _check_header_value("Subject", subject)
    extra = dict(headers or {})
    for name, value in extra.items():
        if not _FIELD_NAME.fullmatch(name) or name.lower() in _RESERVED_HEADERS:
            raise InvalidInput(f"mail header {name!r} may not be set here")
        _check_header_value(name, value)
    payload: dict[str, Any] = {"to": address, "subject": subject, "body": body, "headers": extra}
    row_id = secrets.token_hex(16)
    if subject_id is not None:
        payload = seal_payload(session, keyring, subject_id, payload)
    else:
        payload = seal_with_own_key(keyring, row_id, payload)
    return enqueue(
        session,
        kind=OutboxKind.EMAIL,
        payload=payload,
        idempotency_key=idempotency_key,
        now=now,
        row_id=row_id,
    )


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


def _claim(
    factory: sessionmaker[Session], kind: OutboxKind, now: datetime, limit: int, lease: timedelta
) -> tuple[str, list[Delivery]]:
    """Lease up to `limit` due rows to this pass and return them.

    PostgreSQL: `SELECT ... FOR UPDATE SKIP LOCKED`, so parallel workers take different rows.
    SQLite: one UPDATE first, which takes the database's write lock before anything is read,
    so two workers never claim the same row and no read transaction needs upgrading.
    """
    token = secrets.token_hex(16)
    claimed = {
        "status": OutboxStatus.SENDING.value,
        "lease_token": token,
        "attempts": OutboxMessage.attempts + 1,
        "next_attempt_at": now + lease,
    }
    with transaction(factory) as session:
        if session.get_bind().dialect.name == "postgresql":
            ids = list(
                session.scalars(
                    select(OutboxMessage.id)
                    .where(_due(kind, now))
                    .order_by(OutboxMessage.next_attempt_at)
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                )
            )
            if ids:
                session.execute(
                    update(OutboxMessage).where(OutboxMessage.id.in_(ids)).values(**claimed)
                )
        else:
            pick = (
                select(OutboxMessage.id)
                .where(_due(kind, now))
                .order_by(OutboxMessage.next_attempt_at)
                .limit(limit)
                .scalar_subquery()
            )
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(pick), _due(kind, now))
                .values(**claimed)
                .execution_options(synchronize_session=False)
            )
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


def deliver_due(
    session_factory: sessionmaker[Session],
    settings: Settings,
    *,
    now: datetime,
    limit: int = 50,
    kind: OutboxKind = OutboxKind.EMAIL,
    send: Sender | None = None,
    max_attempts: int = MAX_ATTEMPTS,
    lease: timedelta = LEASE,
) -> DeliveryReport:
    """Deliver up to `limit` rows of `kind` that are due at `now`; commit each outcome.

    E-mail goes over SMTP when `settings.smtp_url` is set and into `<data_dir>/outbox/<id>.eml`
    otherwise; other kinds pass their own `send`. A failure waits `backoff(attempts)` and is
    tried again; a permanent refusal (SMTP 5yz) or the `max_attempts`-th failure makes the row
    dead. A row is marked `sending` under a lease before it goes out and `sent` right after,
    so no pass sends it again; the .eml file is written once per row id whatever happens.
    """
    if send is None:
        if kind is not OutboxKind.EMAIL:
            raise InvalidInput(f"no sender given for outbox kind {kind.value!r}")
        send = email_sender(settings)
    report = DeliveryReport()
    token, deliveries = _claim(session_factory, kind, now, limit, lease)
    deliveries, unreadable = _open_sealed(session_factory, settings, deliveries)
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
            permanent = isinstance(exc, PermanentDeliveryError)
            if permanent or delivery.attempt >= max_attempts:
                values: dict[str, Any] = {"status": OutboxStatus.DEAD.value}
                report.dead.append(delivery.id)
            else:
                values = {
                    "status": OutboxStatus.PENDING.value,
                    "next_attempt_at": now + backoff(delivery.attempt),
                }
                report.retrying.append(delivery.id)
            values["last_error"] = describe_failure(exc)[:500]
            _settle(session_factory, token, delivery.id, values)
        else:
            _settle(
                session_factory,
                token,
                delivery.id,
                {"status": OutboxStatus.SENT.value, "sent_at": now, "last_error": None},
            )
            report.sent.append(delivery.id)
    return report


def _open_sealed(
    factory: sessionmaker[Session], settings: Settings, deliveries: list[Delivery]
) -> tuple[list[Delivery], dict[str, str]]:
    """Open the sealed payloads of a claimed batch in one read transaction.

    Returns the deliveries to send, with their payloads in the clear (in memory only), and
    `{id: reason}` for those that cannot be read: "subject erased" or a failed check.
    """
    if not any("sealed" in d.payload for d in deliveries):
        return deliveries, {}
    keyring = load_keyring(settings)
    ready: list[Delivery] = []
    unreadable: dict[str, str] = {}
    with transaction(factory) as session:
        for delivery in deliveries:
            try:
                payload = open_payload(session, keyring, delivery.payload)
            except NotFound:
                unreadable[delivery.id] = ERASED
                continue
            except (IntegrityCheckError, KeyringError):
                unreadable[delivery.id] = "sealed payload fails its integrity check"
                continue
            if delivery.payload.get("ref", delivery.id) != delivery.id:
                unreadable[delivery.id] = "sealed payload belongs to another row"
                continue
            ready.append(replace(delivery, payload=payload))
    return ready, unreadable
