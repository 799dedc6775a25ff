"""`/api/v1/orders` over HTTP, per the contract in DESIGN.md, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from schutz.audit.models import AuditEntry
from schutz.config import Settings
from schutz.disclosures.models import Disclosure
from webapp import GRACE_ORDER as CUSTOMER
from webapp import Headers, TestClient, deliver, delivered_to


def _order(client: TestClient, auth: Headers, **overrides: Any) -> dict[str, Any]:
    made = client.post("/api/v1/subjects", json=CUSTOMER, headers=auth("shop"))
    assert made.status_code in (200, 201), made.text
    body = {
        "subject_id": made.json()["subject_id"],
        "order_ref": "GS-100231",
        "items": [{"sku": "CL390", "name": "Gigaset CL390", "quantity": 1, "unit_price": 39.99}],
        "total": "44.98",
        "currency": "EUR",
        "payment": {"method": "card", "reference": "PAY-7F3A-2291"},
    }
    body.update(overrides)
    return body


def test_an_order_returns_201_with_one_disclosure_per_processor(
    client: TestClient, auth: Headers
) -> None:
    answer = client.post("/api/v1/orders", json=_order(client, auth), headers=auth("shop"))

    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["order_ref"] == "GS-100231"
    got = {d["recipient"]: d for d in body["disclosures"]}
    assert set(got) == {"freight_carrier", "payment_service_provider", "bank"}
    assert got["payment_service_provider"]["categories"] == ["user.payment"]
    assert all(d["status"] == "queued" for d in body["disclosures"])
    assert "Grace" not in answer.text


def test_a_replayed_order_answers_200_and_discloses_nothing_new(
    client: TestClient, auth: Headers, engine: Engine
) -> None:
    order = _order(client, auth)
    first = client.post("/api/v1/orders", json=order, headers=auth("shop"))
    again = client.post("/api/v1/orders", json=order, headers=auth("shop"))

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Disclosure)) == 3


def test_an_order_asking_for_its_confirmation_is_mailed_once_without_the_address(
    client: TestClient, auth: Headers, settings: Settings
) -> None:
    order = _order(client, auth, confirmation={"lang": "de"})
    assert client.post("/api/v1/orders", json=order, headers=auth("shop")).status_code == 201
    assert client.post("/api/v1/orders", json=order, headers=auth("shop")).status_code == 200
    deliver(client.app.state.sessions, settings)  # type: ignore[attr-defined]

    mails = delivered_to(settings, CUSTOMER["data"]["email"])
    assert len(mails) == 1
    subject, body = mails[0]
    assert subject == "Ihre Bestellung GS-100231"
    assert "1 x Gigaset CL390" in body
    assert "44,98 EUR" in body
    assert CUSTOMER["data"]["postal_address"]["city"] not in body


def test_the_same_reference_with_another_total_is_409(client: TestClient, auth: Headers) -> None:
    order = _order(client, auth)
    client.post("/api/v1/orders", json=order, headers=auth("shop"))

    answer = client.post("/api/v1/orders", json={**order, "total": "1.00"}, headers=auth("shop"))

    assert answer.status_code == 409


def test_the_dpo_sees_the_exact_payloads_and_others_only_the_categories(
    client: TestClient, auth: Headers, engine: Engine
) -> None:
    client.post("/api/v1/orders", json=_order(client, auth), headers=auth("shop"))

    as_dpo = client.get("/api/v1/orders/GS-100231/disclosures", headers=auth("dpo"))
    as_shop = client.get("/api/v1/orders/GS-100231/disclosures", headers=auth("shop"))

    assert as_dpo.status_code == 200, as_dpo.text
    payloads = {d["recipient"]: d["payload"] for d in as_dpo.json()["disclosures"]}
    assert set(payloads["freight_carrier"]["data"]) == {"order_ref", "name", "postal_address"}
    assert "postal_address" not in payloads["payment_service_provider"]["data"]
    assert payloads["payment_service_provider"]["data"]["total"] == "44.98"
    assert all(d["payload"] is None for d in as_shop.json()["disclosures"])
    assert {d["purpose"] for d in as_shop.json()["disclosures"]} == {
        "order_processing",
        "billing",
    }
    with Session(engine) as session:
        reads = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "disclosure.payloads_read")
        ).all()
    assert len(reads) == 1


def test_an_unknown_order_is_404(client: TestClient, auth: Headers) -> None:
    answer = client.get("/api/v1/orders/GS-0/disclosures", headers=auth("dpo"))
    assert answer.status_code == 404


@pytest.mark.parametrize("role", ["marketing", "support", "fulfilment", "dpo"])
def test_only_the_shop_places_orders(client: TestClient, auth: Headers, role: str) -> None:
    order = _order(client, auth)
    answer = client.post("/api/v1/orders", json=order, headers=auth(role))
    assert answer.status_code == 403


def test_without_a_key_it_is_401(client: TestClient) -> None:
    assert client.post("/api/v1/orders", json={}).status_code == 401


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"currency": "XXY"}, "currency"),
        ({"items": []}, "items"),
        ({"total": "-5"}, "total"),
        ({"order_ref": "a b"}, "order_ref"),
        ({"payment": {"method": "card"}}, "reference"),
        ({"extra": "x"}, "extra"),
    ],
)
def test_malformed_orders_are_422_naming_the_field_not_the_value(
    client: TestClient, auth: Headers, change: dict[str, Any], field: str
) -> None:
    answer = client.post(
        "/api/v1/orders", json=_order(client, auth, **change), headers=auth("shop")
    )

    assert answer.status_code == 422
    assert field in answer.text
    assert "Grace" not in answer.text


def test_an_order_for_data_not_collected_for_orders_is_403_and_audited(
    client: TestClient, auth: Headers, engine: Engine
) -> None:
    data = {**CUSTOMER["data"], "email": "registered.only@example.org"}
    registered = {"source": "registration", "purposes": ["information_access"], "data": data}
    made = client.post("/api/v1/subjects", json=registered, headers=auth("shop"))
    order = _order(client, auth, subject_id=made.json()["subject_id"])

    answer = client.post("/api/v1/orders", json=order, headers=auth("shop"))

    assert answer.status_code == 403
    assert answer.json()["reason"]
    with Session(engine) as session:
        denied = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "vault.read_denied")
        ).all()
        assert session.scalar(select(func.count()).select_from(Disclosure)) == 0
    assert denied
