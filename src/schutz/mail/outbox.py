"""Putting deliveries into the outbox: inside the transaction that causes them, sent after.

Writers call `enqueue_mail` (or `enqueue` for other kinds) in their own transaction; nothing
leaves before it commits, and the worker (`delivery.py`) takes the rows out. An e-mail's
payload is sealed before it is stored, by the `Sealer` the caller hands in (`sealing.py`).
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select
from sqlalchemy.orm import Session

from schutz.db import note_work
from schutz.errors import InvalidInput
from schutz.mail.models import OutboxMessage
from schutz.mail.sealing import Sealer, seal_payload
from schutz.mail.vocabulary import OutboxKind, OutboxStatus

# RFC 5322 §3.6.8: a field name is printable ASCII except the colon.
_FIELD_NAME = re.compile(r"[!-9;-~]+")
_RESERVED_HEADERS = frozenset({"to", "subject", "date", "message-id", "cc", "bcc"})


def enqueue(
    session: Session,
    *,
    kind: OutboxKind,
    payload: dict[str, Any],
    idempotency_key: str,
    now: datetime,
    row_id: str | None = None,
    fresh: bool = False,
) -> OutboxMessage:
    """Add a delivery to the outbox in the caller's transaction (flushed, not committed).

    The same `idempotency_key` twice returns the row already there and adds nothing, so a
    retried request never mails or calls out twice. `row_id` is the id the caller sealed
    the payload for; by default a fresh one. `fresh`: the key holds an id the caller has
    just drawn at random, so no row can have it; the look-up and the flush are skipped and
    the row goes with the transaction's next flush (an order queues three; the unique
    index still stands guard).
    """
    if not idempotency_key or len(idempotency_key) > 200:
        raise InvalidInput("an outbox idempotency key must have 1 to 200 characters")
    existing = None
    if not fresh:
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
    if not fresh:
        session.flush()
    note_work(session)
    return row


def _check_header_value(name: str, value: str) -> None:
    if "\r" in value or "\n" in value:
        # Header injection: a line break would let a value add headers or recipients.
        raise InvalidInput(f"mail header {name} must be a single line")


def _checked_headers(subject: str, headers: dict[str, str] | None) -> dict[str, str]:
    _check_header_value("Subject", subject)
    extra = dict(headers or {})
    for name, value in extra.items():
        if not _FIELD_NAME.fullmatch(name) or name.lower() in _RESERVED_HEADERS:
            raise InvalidInput(f"mail header {name!r} may not be set here")
        _check_header_value(name, value)
    return extra


def enqueue_mail(
    session: Session,
    *,
    to: str,
    subject: str,
    body: str,
    headers: dict[str, str] | None = None,
    idempotency_key: str,
    now: datetime,
    keyring: Sealer,
    subject_id: str | None = None,
) -> OutboxMessage:
    """Queue one plain-text e-mail to one address; it is sent only after the caller commits.

    `headers` adds fields such as `List-Unsubscribe` and `List-Unsubscribe-Post`
    (RFC 2369, RFC 8058) or `From`; To, Subject, Date and Message-ID are Schutz's to set.
    The payload is always sealed by `keyring` (Art. 32(1)(a) GDPR): with `subject_id` under
    that subject's data key, so that an erasure before delivery stops the mail and deletes
    it (Art. 17); without, under a key of its own that goes with the row (`sealing.py`).
    Pass the subject a mail is *about*, even when it goes to someone else (a contact form's
    forward to support names the sender).
    """
    try:
        address = validate_email(to, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise InvalidInput("the e-mail address is not valid") from exc
    extra = _checked_headers(subject, headers)
    payload = {"to": address, "subject": subject, "body": body, "headers": extra}
    row_id = secrets.token_hex(16)
    return enqueue(
        session,
        kind=OutboxKind.EMAIL,
        payload=seal_payload(session, keyring, payload, subject_id=subject_id, ref=row_id),
        idempotency_key=idempotency_key,
        now=now,
        row_id=row_id,
    )
