"""The checks an order passes before anything of it is stored or sent (C2, C3).

An order's form (reference, items, amounts, currency, payment) is checked without naming a
value; a recipient must be a processor the policy lists for the purpose, and a refusal is
audited for the DPO before it is raised.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime
from decimal import Decimal

import pycountry
from sqlalchemy.orm import Session

from schutz.audit import service as audit
from schutz.disclosures.payloads import ADDRESS_PARTS, OrderFacts
from schutz.errors import Denied, InvalidInput
from schutz.policy.engine import Engine
from schutz.vault import service as vault

ORDER_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,79}")


PAYMENT_METHOD = re.compile(r"[a-z][a-z0-9_]{0,31}")


MAX_ITEMS = 200


CENT = Decimal("0.01")


MAX_AMOUNT = Decimal(10**9)


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
