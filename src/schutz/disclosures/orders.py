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
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from schutz.audit import service as audit
from schutz.disclosures.checks import check_order, check_recipient, with_clean_delivery_address
from schutz.disclosures.models import Disclosure, DisclosureStatus, Order
from schutz.disclosures.payloads import OrderFacts, build_payload, check_categories
from schutz.disclosures.sealing import ORDER_LABEL, PAYLOAD_LABEL, SubjectKey, subject_key
from schutz.disclosures.views import DisclosureView, view_of, views_of
from schutz.errors import Conflict, NotFound
from schutz.mail.service import enqueue
from schutz.mail.vocabulary import OutboxKind
from schutz.policy.engine import Engine
from schutz.vault import service as vault
from schutz.vault.keys import Keyring

ORDER_PURPOSES = ("order_processing", "billing")
"""The purposes for which clause C2 lets data go to third parties at all."""


INVOICE_HOLD = "invoices"


@dataclass(frozen=True, slots=True)
class OrderResult:
    order_ref: str
    created: bool
    disclosures: tuple[DisclosureView, ...] = field(default_factory=tuple)


Plan = list[tuple[str, str, tuple[str, ...]]]
"""(recipient, purpose, payload spec) for each processor an order goes to."""


def _recipients_for_orders(rules: Engine) -> Plan:
    """(recipient, purpose, payload spec) for each processor the policy lists for orders."""
    out: Plan = []
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
    return OrderResult(order.order_ref, False, tuple(views_of(session, [existing.id])))


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
    payloads = _minimal_payloads(
        session, rules, keyring, order, plan, fields_map, role=role, actor=actor, now=now
    )
    key = subject_key(session, keyring, order.subject_id)
    order_row = _record_order(session, rules, key, order, actor=actor, now=now)
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
    views = sorted((view_of(row, order.order_ref) for row in rows), key=lambda v: v.recipient)
    return OrderResult(order.order_ref, True, tuple(views))


def _minimal_payloads(
    session: Session,
    rules: Engine,
    keyring: Keyring,
    order: OrderFacts,
    plan: Plan,
    fields_map: dict[str, str],
    *,
    role: str,
    actor: str,
    now: datetime,
) -> list[tuple[str, str, dict[str, Any]]]:
    """`(recipient, purpose, payload)` for each processor, or the refusal that stops the order.

    Every recipient is checked first (C2), then the subject is read once per purpose in
    play under its purpose check (Art. 5(1)(b) GDPR): nothing is written before all pass.
    """
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
    return [
        (recipient, purpose, build_payload(recipient, spec, order, read[purpose]))
        for recipient, purpose, spec in plan
    ]


def _record_order(
    session: Session,
    rules: Engine,
    key: SubjectKey,
    order: OrderFacts,
    *,
    actor: str,
    now: datetime,
) -> Order:
    """The order row, its details sealed under the subject's key, under the invoice hold."""
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
    return order_row


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
        fresh=True,
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
