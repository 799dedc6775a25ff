"""Payload minimisation, table-driven: each spec yields exactly its fields and categories."""

from __future__ import annotations

from decimal import Decimal

import pytest

from schutz.disclosures.payloads import (
    OrderFacts,
    OrderItem,
    build_payload,
    check_categories,
    money,
    payload_categories,
)
from schutz.errors import Denied, InvalidInput

FIELDS = {
    "email": "user.contact.email",
    "name": "user.name",
    "phone": "user.contact.phone_number",
    "postal_address.street": "user.contact.address.street",
    "postal_address.postal_code": "user.contact.address.postal_code",
    "postal_address.city": "user.contact.address.city",
    "postal_address.country": "user.contact.address.country",
}
SUBJECT = {
    "email": "ada@example.org",
    "name": "Ada Lovelace",
    "phone": "+49301234567",
    "postal_address.street": "Hansaallee 299",
    "postal_address.postal_code": "40549",
    "postal_address.city": "Düsseldorf",
    "postal_address.country": "DE",
}
ORDER = OrderFacts(
    subject_id="s1",
    order_ref="GS-1",
    items=(OrderItem("A690", "Gigaset A690", 2, Decimal("24.5")),),
    total=Decimal("49"),
    currency="EUR",
    payment_method="card",
    payment_reference="PAY-1",
)
ADDRESS = {
    "street": "Hansaallee 299",
    "postal_code": "40549",
    "city": "Düsseldorf",
    "country": "DE",
}


@pytest.mark.parametrize(
    ("spec", "expected", "categories"),
    [
        (
            ("order_ref", "name", "postal_address"),
            {"order_ref": "GS-1", "name": "Ada Lovelace", "postal_address": ADDRESS},
            {"user.name"} | {f"user.contact.address.{p}" for p in ADDRESS},
        ),
        (
            ("order_ref", "payment.reference", "total", "currency"),
            {"order_ref": "GS-1", "payment": {"reference": "PAY-1"}, "total": "49.00",
             "currency": "EUR"},
            {"user.payment"},
        ),
        (
            ("order_ref", "name", "payment.reference", "total", "currency"),
            {"order_ref": "GS-1", "name": "Ada Lovelace", "payment": {"reference": "PAY-1"},
             "total": "49.00", "currency": "EUR"},
            {"user.name", "user.payment"},
        ),
        (
            ("items", "payment.method"),
            {"items": [{"sku": "A690", "name": "Gigaset A690", "quantity": 2,
                        "unit_price": "24.50"}], "payment": {"method": "card"}},
            {"user.behavior.purchase_history", "user.payment"},
        ),
        (("email", "phone"), {"email": "ada@example.org", "phone": "+49301234567"},
         {"user.contact.email", "user.contact.phone_number"}),
        (("order_ref", "currency"), {"order_ref": "GS-1", "currency": "EUR"}, set()),
    ],
    ids=["carrier", "payment-provider", "bank", "items-and-method", "contact", "nothing-personal"],
)  # fmt: skip
def test_a_payload_holds_exactly_its_spec(
    spec: tuple[str, ...], expected: dict, categories: set[str]
) -> None:
    assert build_payload("r", spec, ORDER, SUBJECT) == expected
    assert payload_categories(spec, FIELDS) == categories


def test_a_spec_with_a_category_the_recipient_may_not_receive_is_refused() -> None:
    with pytest.raises(Denied) as caught:
        check_categories("freight_carrier", ("name", "email"), FIELDS, ["user.name"])
    assert "user.contact.email" in caught.value.reason


def test_a_missing_field_is_named_and_its_neighbours_stay_private() -> None:
    partial = {k: v for k, v in SUBJECT.items() if k != "postal_address.city"}
    with pytest.raises(InvalidInput, match=r"postal_address\.city") as caught:
        build_payload("freight_carrier", ("name", "postal_address"), ORDER, partial)
    assert "Ada" not in str(caught.value)


@pytest.mark.parametrize(
    ("amount", "text"), [("0", "0.00"), ("1.5", "1.50"), ("199.99", "199.99"), ("1e3", "1000.00")]
)
def test_amounts_travel_as_strings_with_two_decimals(amount: str, text: str) -> None:
    assert money(Decimal(amount)) == text
