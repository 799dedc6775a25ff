"""Orders and disclosures: minimal payloads per processor, sealed, recorded and queued (C2, C3).

`place_order` is the whole of clause C3 in one transaction: it reads the subject's data
under a purpose check, builds one minimal payload per recipient the policy lists for order
processing and billing, seals each under the subject's key, records the disclosure and
queues a signed webhook in the outbox, and puts the order under the invoice legal hold.
Functions flush and never commit; each writes its audit entry in the same transaction.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

import pycountry
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from schutz.audit import service as audit
from schutz.disclosures.models import Disclosure, DisclosureStatus, Order, RecipientEndpoint
from schutz.disclosures.payloads import (
    ADDRESS_PARTS,
    OrderFacts,
    build_payload,
    check_categories,
)
from schutz.disclosures.sealing import ORDER_LABEL, PAYLOAD_LABEL, SubjectKey, subject_key
from schutz.errors import Conflict, Denied, InvalidInput, NotFound
from schutz.mail.service import enqueue
from schutz.mail.vocabulary import OutboxKind
from schutz.policy.engine import Engine
from schutz.vault import service as vault
from schutz.vault.keys import Keyring

ORDER_PURPOSES = ("order_processing", "billing")
"""The purposes for which clause C2 lets data go to third parties at all."""
INVOICE_HOLD = "invoices"
ORDER_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,79}")
PAYMENT_METHOD = re.compile(r"[a-z][a-z0-9_]{0,31}")
MAX_ITEMS = 200
CENT = Decimal("0.01")
MAX_AMOUNT = Decimal(10**9)


@dataclass(frozen=True, slots=True)
class DisclosureView:
    """A disclosure as the API and the pages show it; `payload` only when asked for."""

    id: str
    order_ref: str
    recipient: str
    purpose: str
    categories: tuple[str, ...]
    status: str
    created_at: datetime
    delivered_at: datetime | None
    last_error: str | None = None
    payload: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class OrderResult:
    order_ref: str
    created: bool
    disclosures: tuple[DisclosureView, ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class PendingDelivery:
    """What the webhook sender needs for one disclosure, read in one short transaction."""

    disclosure_id: str
    recipient: str
    url: str | None
    secret_file: str | None
    body: bytes
    delivered: bool


# --- checks ----------------------------------------------------------------------------


def _is_amount(value: Decimal) -> bool:
    """A finite amount of 0 or more with at most two decimals."""
    return value.is_finite() and 0 <= value < MAX_AMOUNT and value == value.quantize(CENT)


def check_order(order: OrderFacts) -> None:
    """Refuse an order whose form is wrong, naming the field and never its value."""
    if not ORDER_REF.fullmatch(order.order_ref):
        raise InvalidInput("order_ref: 1-80 letters, digits, dots, dashes or underscores")
    if not order.items or len(order.items) > MAX_ITEMS:
        raise InvalidInput(f"items: between 1 and {MAX_ITEMS} items")
    for number, item in enumerate(order.items):
        if item.quantity < 1:
            raise InvalidInput(f"items[{number}].quantity must be at least 1")
        if not _is_amount(item.unit_price) or not item.sku.strip() or not item.name.strip():
            raise InvalidInput(f"items[{number}] needs a sku, a name and a price of 0 or more")
    if not _is_amount(order.total):
        raise InvalidInput("total must be 0 or more, with at most two decimals")
    if pycountry.currencies.get(alpha_3=order.currency) is None:
        raise InvalidInput("currency must be an ISO 4217 code such as EUR")
    if not PAYMENT_METHOD.fullmatch(order.payment_method):
        raise InvalidInput("payment.method: a short lower-case name such as card or invoice")
    reference = order.payment_reference
    if not 1 <= len(reference) <= 100 or any(ord(ch) < 32 for ch in reference):
        raise InvalidInput("payment.reference: 1-100 printable characters")


def check_recipient(
    session: Session,
    rules: Engine,
    recipient: str,
    purpose: str,
    *,
    subject_id: str | None,
    actor: str,
    now: datetime,
) -> None:
    """C2: data may go only to a processor the policy lists for `purpose`.

    A refusal is audited (flagged for the DPO) before it is raised, so an attempt to send
    data somewhere the policy does not allow leaves a trace even though nothing is sent.
    """
    decision = rules.may_disclose(recipient, purpose)
    if decision.allowed:
        return
    audit.record(
        session,
        actor=actor,
        action="disclosure.refused",
        subject_id=subject_id,
        purpose=purpose[:64],
        details={"recipient": recipient[:64], "rule": decision.rule, "reason": decision.reason},
        flagged=True,
        now=now,
    )
    raise Denied(f"no disclosure to {recipient[:64]!r} for {purpose[:64]!r}", decision.reason)


def with_clean_delivery_address(order: OrderFacts) -> OrderFacts:
    """The order with its delivery address checked and normalised like a vault address."""
    if order.delivery_address is None:
        return order
    prefix = "postal_address."
    given = order.delivery_address
    missing = [part for part in ADDRESS_PARTS if not given.get(part, "").strip()]
    if missing:
        raise InvalidInput(f"delivery_address needs {', '.join(missing)}")
    try:
        clean = vault.normalise_fields({prefix + part: given[part] for part in ADDRESS_PARTS})
    except InvalidInput as exc:
        raise InvalidInput(f"delivery_address: {exc}") from None
    address = {key.removeprefix(prefix): value for key, value in clean.items()}
    return replace(order, delivery_address=address)


# --- placing an order ------------------------------------------------------------------


def _recipients_for_orders(rules: Engine) -> list[tuple[str, str, tuple[str, ...]]]:
    """(recipient, purpose, payload spec) for each processor the policy lists for orders."""
    out: list[tuple[str, str, tuple[str, ...]]] = []
    for key, spec in rules.policy.recipients.items():
        purpose = next((p for p in spec.purposes if p in ORDER_PURPOSES), None)
        if purpose is not None:
            out.append((key, purpose, tuple(spec.payload)))
    return out


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _replay(session: Session, keyring: Keyring, existing: Order, order: OrderFacts) -> OrderResult:
    """The answer to an order sent again: the same result if it is the same order, else 409."""
    same = existing.subject_id == order.subject_id
    if same:
        try:
            key = subject_key(session, keyring, existing.subject_id)
            sealed = key.open(ORDER_LABEL, existing.id, existing.details, existing.key_version)
            same = json.loads(sealed) == json.loads(_canonical(order.details()))
        except NotFound:
            same = False
    if not same:
        raise Conflict(f"order {order.order_ref} exists already with other contents")
    return OrderResult(order.order_ref, False, tuple(_views(session, [existing.id])))


def place_order(
    session: Session,
    rules: Engine,
    keyring: Keyring,
    order: OrderFacts,
    *,
    role: str,
    actor: str,
    now: datetime,
) -> OrderResult:
    """Record an order and disclose to each processor exactly what the policy lists (C3).

    Idempotent on `order_ref`: the same order again returns the first result and sends
    nothing new; the same reference with other contents is a `Conflict`. The subject's
    data is read under a purpose check for each purpose in play (Art. 5(1)(b) GDPR), so a
    restricted subject or data collected for other purposes stops the order before anything
    is written. The order is an invoice voucher: it goes under the `invoices` legal hold
    (HGB §257(4), AO §147(3)), which keeps an erasure from destroying it too early.
    """
    check_order(order)
    order = with_clean_delivery_address(order)
    existing = session.scalars(select(Order).where(Order.order_ref == order.order_ref)).first()
    if existing is not None:
        return _replay(session, keyring, existing, order)

    plan = _recipients_for_orders(rules)
    fields_map: dict[str, str] = dict(rules.policy.fields)  # type: ignore[arg-type]
    recipients = rules.policy.recipients
    for recipient, purpose, spec in plan:
        check_recipient(
            session, rules, recipient, purpose, subject_id=order.subject_id, actor=actor, now=now
        )
        check_categories(recipient, spec, fields_map, recipients[recipient].categories)
    read: dict[str, dict[str, str]] = {}
    for purpose in dict.fromkeys(p for _, p, _ in plan):
        found = vault.read_subject(
            session, rules, keyring, order.subject_id, purpose, actor=actor, role=role, now=now
        )
        read[purpose] = found.data
    payloads = [
        (recipient, purpose, build_payload(recipient, spec, order, read[purpose]))
        for recipient, purpose, spec in plan
    ]

    key = subject_key(session, keyring, order.subject_id)
    order_row = Order(
        id=uuid.uuid4().hex,
        order_ref=order.order_ref,
        subject_id=order.subject_id,
        key_version=key.key_version,
        policy_version=rules.policy.version,
        created_at=now,
        created_by=actor,
    )
    order_row.details = key.seal(ORDER_LABEL, order_row.id, _canonical(order.details()))
    session.add(order_row)
    session.flush()
    if INVOICE_HOLD in rules.policy.legal_holds:
        vault.place_hold(
            session,
            rules.policy,
            order.subject_id,
            INVOICE_HOLD,
            reference=order.order_ref,
            event_date=now.date(),
            actor=actor,
            now=now,
        )
    rows = [
        _disclose(session, rules, key, order_row, recipient, purpose, data, fields_map, now=now)
        for recipient, purpose, data in payloads
    ]
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="order.placed",
        subject_id=order.subject_id,
        purpose="order_processing",
        details={
            "order_ref": order.order_ref,
            "policy_version": rules.policy.version,
            "hold": INVOICE_HOLD if INVOICE_HOLD in rules.policy.legal_holds else None,
            "disclosures": [{**row.summary(), "payload_hash": row.payload_hash} for row in rows],
        },
        now=now,
    )
    views = sorted((_view(row, order.order_ref) for row in rows), key=lambda v: v.recipient)
    return OrderResult(order.order_ref, True, tuple(views))


def _disclose(
    session: Session,
    rules: Engine,
    key: SubjectKey,
    order_row: Order,
    recipient: str,
    purpose: str,
    data: dict[str, Any],
    fields_map: dict[str, str],
    *,
    now: datetime,
) -> Disclosure:
    """Seal, record and queue one payload; the outbox row carries only the disclosure's id."""
    spec = rules.policy.recipients[recipient]
    disclosure_id = uuid.uuid4().hex
    body = _canonical(
        {
            "id": disclosure_id,
            "type": "disclosure",
            "recipient": recipient,
            "purpose": purpose,
            "policy_version": rules.policy.version,
            "created_at": now.isoformat(),
            "data": data,
        }
    )
    outbox = enqueue(
        session,
        kind=OutboxKind.WEBHOOK,
        payload={"disclosure_id": disclosure_id},
        idempotency_key=f"disclosure:{disclosure_id}",
        now=now,
    )
    row = Disclosure(
        id=disclosure_id,
        order_id=order_row.id,
        subject_id=order_row.subject_id,
        recipient=recipient,
        purpose=purpose,
        categories=list(check_categories(recipient, spec.payload, fields_map, spec.categories)),
        policy_version=rules.policy.version,
        key_version=key.key_version,
        payload=key.seal(PAYLOAD_LABEL, disclosure_id, body),
        payload_hash=hashlib.sha256(body.encode("utf-8")).hexdigest(),
        status=DisclosureStatus.QUEUED.value,
        outbox_id=outbox.id,
        retries=0,
        created_at=now,
    )
    session.add(row)
    return row


# --- reading disclosures ---------------------------------------------------------------


def _view(row: Disclosure, order_ref: str, payload: dict[str, Any] | None = None) -> DisclosureView:
    return DisclosureView(
        id=row.id,
        order_ref=order_ref,
        recipient=row.recipient,
        purpose=row.purpose,
        categories=tuple(row.categories),
        status=row.status,
        created_at=row.created_at,
        delivered_at=row.delivered_at,
        last_error=row.last_error,
        payload=payload,
    )


def _views(session: Session, order_ids: Iterable[str]) -> list[DisclosureView]:
    rows = session.execute(
        select(Disclosure, Order.order_ref)
        .join(Order, Order.id == Disclosure.order_id)
        .where(Disclosure.order_id.in_(list(order_ids)))
        .order_by(Disclosure.created_at, Disclosure.recipient)
    ).all()
    return [_view(row, ref) for row, ref in rows]


def _open_payload(key: SubjectKey | None, row: Disclosure) -> dict[str, Any] | None:
    """The exact body sent, checked against its hash; None once the subject is erased."""
    if key is None:
        return None
    body = key.open(PAYLOAD_LABEL, row.id, row.payload, row.key_version)
    if hashlib.sha256(body.encode("utf-8")).hexdigest() != row.payload_hash:
        raise InvalidInput(f"disclosure {row.id} does not match its recorded hash")
    parsed: dict[str, Any] = json.loads(body)
    return parsed


def order_disclosures(
    session: Session,
    keyring: Keyring,
    order_ref: str,
    *,
    with_payload: bool,
    actor: str,
    now: datetime,
) -> list[DisclosureView]:
    """What each recipient received for one order; the payloads only when asked (DPO).

    Opening payloads is a read of personal data and is audited (Art. 5(2) GDPR). After an
    erasure the record stays and `payload` is None: the key that opened it is gone.
    """
    order = session.scalars(select(Order).where(Order.order_ref == order_ref)).first()
    if order is None:
        raise NotFound("no such order")
    views = _views(session, [order.id])
    if not with_payload:
        return views
    try:
        key: SubjectKey | None = subject_key(session, keyring, order.subject_id)
    except NotFound:
        key = None
    rows = {
        row.id: row
        for row in session.scalars(select(Disclosure).where(Disclosure.order_id == order.id))
    }
    opened = [replace(v, payload=_open_payload(key, rows[v.id])) for v in views]
    audit.record(
        session,
        actor=actor,
        action="disclosure.payloads_read",
        subject_id=order.subject_id,
        details={"order_ref": order_ref, "disclosures": [v.id for v in views], "erased": not key},
        now=now,
    )
    return opened


def subject_disclosures(session: Session, subject_id: str) -> list[DisclosureView]:
    """Who received this subject's data, when and why (Art. 15(1)(c) GDPR; no payloads).

    For the access export and the privacy centre ("who received my data").
    """
    rows = session.execute(
        select(Disclosure, Order.order_ref)
        .join(Order, Order.id == Disclosure.order_id)
        .where(Disclosure.subject_id == subject_id)
        .order_by(Disclosure.created_at, Disclosure.recipient)
    ).all()
    return [_view(row, ref) for row, ref in rows]


def recent_disclosures(
    session: Session, *, limit: int = 50, status: str | None = None
) -> list[DisclosureView]:
    """The newest disclosures (or those in `status`), for the staff console; no payloads."""
    query = select(Disclosure, Order.order_ref).join(Order, Order.id == Disclosure.order_id)
    if status is not None:
        query = query.where(Disclosure.status == status)
    rows = session.execute(query.order_by(Disclosure.created_at.desc()).limit(limit)).all()
    return [_view(row, ref) for row, ref in rows]


def status_counts(session: Session) -> dict[str, int]:
    """How many disclosures are in each status."""
    rows = session.execute(
        select(Disclosure.status, func.count()).group_by(Disclosure.status)
    ).all()
    return {str(status): int(count) for status, count in rows}


# --- delivery --------------------------------------------------------------------------


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
