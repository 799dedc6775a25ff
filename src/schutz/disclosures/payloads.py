"""Minimal payloads: exactly the fields the policy lists for a recipient, nothing more (C3).

Pure functions: they take the order and the subject's fields already read under a purpose
check, and return the data a recipient gets with the taxonomy categories it contains. A
field the recipient's `payload` does not name never enters the dictionary (data
minimisation, Art. 5(1)(c) GDPR); a category the recipient's `categories` do not cover is
refused before anything is built.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from schutz.errors import Denied, InvalidInput

ADDRESS_PARTS = ("street", "postal_code", "city", "country")
VAULT_FIELDS = frozenset({"email", "name", "phone"})
ORDER_CATEGORIES: dict[str, str] = {
    "items": "user.behavior.purchase_history",
    "total": "user.payment",
    "payment.method": "user.payment",
    "payment.reference": "user.payment",
}
"""Categories of the order's own fields; `order_ref` and `currency` say nothing of a person."""


@dataclass(frozen=True, slots=True)
class OrderItem:
    sku: str
    name: str
    quantity: int
    unit_price: Decimal

    def as_json(self) -> dict[str, Any]:
        return {
            "sku": self.sku,
            "name": self.name,
            "quantity": self.quantity,
            "unit_price": money(self.unit_price),
        }


@dataclass(frozen=True, slots=True)
class OrderFacts:
    """An order as the shop sent it (contract of POST /api/v1/orders)."""

    subject_id: str
    order_ref: str
    items: tuple[OrderItem, ...]
    total: Decimal
    currency: str
    payment_method: str
    payment_reference: str
    delivery_address: Mapping[str, str] | None = None
    """Where this order goes (`street`, `postal_code`, `city`, `country`), when the shop
    sends one: it reaches only recipients whose payload lists `postal_address` (the
    carrier) and is kept sealed with the order, never written to the vault."""

    def details(self) -> dict[str, Any]:
        """Everything but the reference and subject: what the sealed order row holds."""
        details: dict[str, Any] = {
            "items": [item.as_json() for item in self.items],
            "total": money(self.total),
            "currency": self.currency,
            "payment": {"method": self.payment_method, "reference": self.payment_reference},
        }
        if self.delivery_address is not None:
            details["delivery_address"] = dict(self.delivery_address)
        return details


def money(amount: Decimal) -> str:
    """An amount as a string with two decimals: no binary floating point on the wire."""
    return f"{amount.quantize(Decimal('0.01'))}"


def vault_fields_needed(spec: Sequence[str]) -> frozenset[str]:
    """The vault fields (`name`, `postal_address.city`, ...) a payload spec needs."""
    needed = {field for field in spec if field in VAULT_FIELDS}
    if "postal_address" in spec:
        needed.update(f"postal_address.{part}" for part in ADDRESS_PARTS)
    return frozenset(needed)


def payload_categories(spec: Sequence[str], fields: Mapping[str, str]) -> frozenset[str]:
    """The taxonomy categories a payload spec contains, via the policy's `fields` map."""
    categories: set[str] = set()
    for name in vault_fields_needed(spec):
        categories.add(fields[name])
    categories.update(ORDER_CATEGORIES[name] for name in spec if name in ORDER_CATEGORIES)
    return frozenset(categories)


def check_categories(
    recipient: str, spec: Sequence[str], fields: Mapping[str, str], allowed: Sequence[str]
) -> tuple[str, ...]:
    """The payload's categories, sorted; `Denied` if the recipient may not receive one."""
    categories = payload_categories(spec, fields)
    extra = sorted(categories - set(allowed))
    if extra:
        raise Denied(
            f"the policy's payload for {recipient!r} holds categories it may not receive",
            reason=f"not allowed for {recipient!r}: {', '.join(extra)} (C3)",
        )
    return tuple(sorted(categories))


def build_payload(
    recipient: str, spec: Sequence[str], order: OrderFacts, subject: Mapping[str, str]
) -> dict[str, Any]:
    """The data `recipient` receives: the fields of `spec`, taken from the order and subject.

    `subject` holds the fields a purpose-checked read returned. The order's own delivery
    address, when it has one, stands in for the postal address held in the vault. A field
    the spec needs but neither has is an error that names the field, never a value.
    """
    data: dict[str, Any] = {}
    needed = vault_fields_needed(spec)
    if order.delivery_address is not None:
        needed = frozenset(f for f in needed if not f.startswith("postal_address."))
    missing = sorted(needed - set(subject))
    if missing:
        hint = (
            "; send the order's delivery_address"
            if any(name.startswith("postal_address.") for name in missing)
            else ""
        )
        raise InvalidInput(
            f"the subject has no {', '.join(missing)} collected for orders, which {recipient!r}"
            f" needs for this order{hint}"
        )
    for name in spec:
        if name == "order_ref":
            data["order_ref"] = order.order_ref
        elif name in VAULT_FIELDS:
            data[name] = subject[name]
        elif name == "postal_address" and order.delivery_address is not None:
            data["postal_address"] = {p: order.delivery_address[p] for p in ADDRESS_PARTS}
        elif name == "postal_address":
            data["postal_address"] = {p: subject[f"postal_address.{p}"] for p in ADDRESS_PARTS}
        elif name == "items":
            data["items"] = [item.as_json() for item in order.items]
        elif name == "total":
            data["total"] = money(order.total)
        elif name == "currency":
            data["currency"] = order.currency
        elif name == "payment.method":
            data.setdefault("payment", {})["method"] = order.payment_method
        elif name == "payment.reference":
            data.setdefault("payment", {})["reference"] = order.payment_reference
        else:  # pragma: no cover - the policy schema admits no other names
            raise InvalidInput(f"unknown payload field {name!r}")
    return data
