"""Who may write what, over HTTP: the policy names who asserts each source, intake for a
known e-mail never changes a stored value, only the subject or the DPO lifts an objection,
and an order's delivery address travels with the order instead of rewriting the vault."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from live import migrated_sqlite_url, uvicorn_serving
from outbox_mail import queued_mails
from schutz.audit.models import AuditEntry
from schutz.clock import utcnow
from schutz.config import Settings
from schutz.db import make_engine, make_session_factory, transaction
from schutz.identity.service import create_api_key
from webapp import GRACE_ORDER, Headers, TestClient, verified_request

GRACE = GRACE_ORDER["data"]
OTHER_ADDRESS = {"street": "Fake Street 1", "postal_code": "20095", "city": "Hamburg",
                 "country": "DE"}  # fmt: skip


def _audit(engine: Engine, action: str) -> list[AuditEntry]:
    with Session(engine) as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def _read(client: TestClient, auth: Headers, subject_id: str) -> dict[str, Any]:
    answer = client.get(
        f"/api/v1/subjects/{subject_id}?purpose=order_processing", headers=auth("shop")
    )
    assert answer.status_code == 200, answer.text
    data: dict[str, Any] = answer.json()["data"]
    return data


def _audience(client: TestClient, auth: Headers) -> set[str]:
    answer = client.get("/api/v1/audiences/direct_marketing", headers=auth("marketing"))
    assert answer.status_code == 200, answer.text
    return {json.loads(line)["subject_id"] for line in answer.text.splitlines()}


def test_api_intake_for_a_known_email_never_changes_the_stored_name(
    client: TestClient, auth: Headers, engine: Engine
) -> None:
    subject_id = client.post("/api/v1/subjects", json=GRACE_ORDER, headers=auth("shop")).json()[
        "subject_id"
    ]
    forged = {**GRACE_ORDER, "data": {**GRACE, "name": "Mallory", "postal_address": OTHER_ADDRESS}}
    answer = client.post("/api/v1/subjects", json=forged, headers=auth("shop"))

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["subject_id"] == subject_id
    assert set(body["unchanged"]) >= {
        "name", "postal_address.street", "postal_address.postal_code", "postal_address.city",
    }  # fmt: skip
    assert body["stored"] == []
    held = _read(client, auth, subject_id)
    assert held["name"] == "Grace Hopper"
    assert held["postal_address"]["street"] == "Unter den Linden 1"

    # A change of a stored value is a rectification, and it is audited as one.
    request_id = verified_request(client.app, GRACE["email"])  # type: ignore[arg-type]
    patch = {"data": {"name": "Grace B. Hopper"}, "request_id": request_id}
    fixed = client.patch(f"/api/v1/subjects/{subject_id}", json=patch, headers=auth("support"))
    assert fixed.status_code == 200, fixed.text
    assert _read(client, auth, subject_id)["name"] == "Grace B. Hopper"
    [rectified] = _audit(engine, "vault.rectify")
    assert rectified.details["rectified"] == ["name"]


def test_intake_answers_a_right_and_a_wrong_guess_alike(client: TestClient, auth: Headers) -> None:
    """A caller that knows an address cannot test a guess of the name held for it: the
    answer is the same whether the name sent equals the held one or not."""
    client.post("/api/v1/subjects", json=GRACE_ORDER, headers=auth("shop"))
    answers = []
    for name in ("Grace Hopper", "Grace Wrong"):
        guess = {**GRACE_ORDER, "data": {"email": GRACE["email"], "name": name}}
        answer = client.post("/api/v1/subjects", json=guess, headers=auth("shop"))
        answers.append((answer.status_code, answer.json()))
    assert answers[0] == answers[1]
    assert answers[0][1]["unchanged"] == ["email", "name"]


def test_fulfilment_key_cannot_assert_registration_source(
    client: TestClient, auth: Headers, engine: Engine
) -> None:
    subject_id = client.post("/api/v1/subjects", json=GRACE_ORDER, headers=auth("shop")).json()[
        "subject_id"
    ]
    widen = {"source": "registration", "purposes": ["direct_marketing"],
             "data": {"email": GRACE["email"], "name": "Mallory"}}  # fmt: skip
    answer = client.post("/api/v1/subjects", json=widen, headers=auth("fulfilment"))

    assert answer.status_code == 403
    body = answer.json()
    assert set(body) == {"detail", "reason", "rule"}
    assert body["rule"] == "source_authority"
    assert "Mallory" not in answer.text
    assert "@" not in answer.text
    assert subject_id not in _audience(client, auth)
    assert _read(client, auth, subject_id)["name"] == "Grace Hopper"
    [refused] = _audit(engine, "vault.intake_denied")
    assert refused.details["asserted_by"] == "fulfilment"
    assert refused.flagged


def test_api_key_cannot_lift_an_objection(
    client: TestClient, auth: Headers, engine: Engine
) -> None:
    body = {"source": "registration", "purposes": ["direct_marketing"],
            "data": {"email": "max@example.org"}}  # fmt: skip
    subject_id = client.post("/api/v1/subjects", json=body, headers=auth("shop")).json()[
        "subject_id"
    ]
    say = {"subject_id": subject_id, "purpose": "direct_marketing", "channel": "post"}
    objected = client.post(
        "/api/v1/consents", json={**say, "action": "object", "evidence": "scan:P-1"},
        headers=auth("support"),
    )  # fmt: skip
    assert objected.status_code == 201
    assert subject_id not in _audience(client, auth)

    regrant = {**say, "action": "grant", "channel": "api", "evidence": "customer said yes"}
    for role in ("marketing", "shop", "support"):
        answer = client.post("/api/v1/consents", json=regrant, headers=auth(role))
        assert answer.status_code == 403, (role, answer.text)
        assert answer.json()["rule"] == "lift_authority"
    no_evidence = {**say, "action": "grant"}
    assert client.post("/api/v1/consents", json=no_evidence, headers=auth("dpo")).status_code == 403
    assert subject_id not in _audience(client, auth)
    assert len(_audit(engine, "consent.grant_refused")) == 4

    # The DPO, holding the subject's own letter, may record it.
    letter = {**say, "action": "grant", "evidence": "scan:P-2 (subject asks to hear from us)"}
    assert client.post("/api/v1/consents", json=letter, headers=auth("dpo")).status_code == 201
    assert subject_id in _audience(client, auth)


def test_order_delivery_address_goes_only_to_the_carrier_and_leaves_the_vault_alone(
    client: TestClient, auth: Headers
) -> None:
    subject_id = client.post("/api/v1/subjects", json=GRACE_ORDER, headers=auth("shop")).json()[
        "subject_id"
    ]
    order = {
        "subject_id": subject_id,
        "order_ref": "GS-200001",
        "items": [{"sku": "CL390", "name": "Gigaset CL390", "quantity": 1, "unit_price": "39.99"}],
        "total": "44.98",
        "currency": "EUR",
        "payment": {"method": "card", "reference": "PAY-1"},
        "delivery_address": {**OTHER_ADDRESS, "country": "Germany"},
    }
    placed = client.post("/api/v1/orders", json=order, headers=auth("shop"))
    assert placed.status_code == 201, placed.text

    sent = client.get("/api/v1/orders/GS-200001/disclosures", headers=auth("dpo")).json()
    payloads = {d["recipient"]: d["payload"]["data"] for d in sent["disclosures"]}
    assert payloads["freight_carrier"]["postal_address"] == OTHER_ADDRESS
    assert payloads["freight_carrier"]["name"] == "Grace Hopper"
    for recipient in ("payment_service_provider", "bank"):
        assert "Fake Street" not in json.dumps(payloads[recipient])
    assert _read(client, auth, subject_id)["postal_address"]["street"] == "Unter den Linden 1"

    elsewhere = {**order, "delivery_address": {**OTHER_ADDRESS, "street": "Other Way 2"}}
    assert client.post("/api/v1/orders", json=elsewhere, headers=auth("shop")).status_code == 409
    bad = {**order, "order_ref": "GS-200002", "delivery_address": {**OTHER_ADDRESS,
           "postal_code": "x"}}  # fmt: skip
    refused = client.post("/api/v1/orders", json=bad, headers=auth("shop"))
    assert refused.status_code == 422
    assert "delivery_address" in refused.json()["detail"]


def _shop_key(url: str) -> str:
    engine = make_engine(url)
    with transaction(make_session_factory(engine)) as session:
        _, key = create_api_key(session, name="live-shop", role="shop", actor="test", now=utcnow())
    engine.dispose()
    return key


@pytest.mark.slow
def test_contact_form_never_changes_a_known_customers_name(tmp_path: Path) -> None:
    url = migrated_sqlite_url(tmp_path)
    shop = {"Authorization": f"Bearer {_shop_key(url)}"}
    with uvicorn_serving(tmp_path, url) as base, httpx.Client(base_url=base, timeout=20) as web:
        made = web.post("/api/v1/subjects", json=GRACE_ORDER, headers=shop)
        assert made.status_code == 201, made.text
        subject_id = made.json()["subject_id"]

        form = web.get("/contact")
        token = re.search(r'name="form_token" value="([^"]+)"', form.text)
        assert token is not None
        sent = web.post("/contact", data={
            "form_token": token.group(1), "kind": "question", "email": GRACE["email"],
            "name": "Mallory", "message": "Please call me.",
        })  # fmt: skip
        assert sent.status_code == 200, sent.text

        read = web.get(f"/api/v1/subjects/{subject_id}?purpose=order_processing", headers=shop)
        assert read.status_code == 200, read.text
        assert read.json()["data"]["name"] == "Grace Hopper"
    engine = make_engine(url)
    with Session(engine) as session:
        entries = session.scalars(select(AuditEntry).where(AuditEntry.action == "vault.intake"))
        by_form = [e.details for e in entries if e.details["asserted_by"] == "form:contact"]
    engine.dispose()
    assert [d["unchanged"] for d in by_form] == [["name"]]


def test_a_known_customer_ordering_to_a_new_address_sends_it_with_the_order(
    client: TestClient, auth: Headers
) -> None:
    registered = {**GRACE_ORDER, "source": "registration", "purposes": ["information_access"]}
    client.post("/api/v1/subjects", json=registered, headers=auth("shop"))
    checkout = {**GRACE_ORDER, "data": {**GRACE, "postal_address": OTHER_ADDRESS}}
    made = client.post("/api/v1/subjects", json=checkout, headers=auth("shop")).json()
    assert "postal_address.street" in made["unchanged"]
    order = {
        "subject_id": made["subject_id"],
        "order_ref": "GS-300001",
        "items": [{"sku": "A690", "name": "Gigaset A690", "quantity": 1, "unit_price": "29.99"}],
        "total": "34.98",
        "currency": "EUR",
        "payment": {"method": "card", "reference": "PAY-3"},
    }

    without = client.post("/api/v1/orders", json=order, headers=auth("shop"))
    assert without.status_code == 422
    assert "delivery_address" in without.json()["detail"]
    assert "Linden" not in without.text

    placed = client.post(
        "/api/v1/orders", json={**order, "delivery_address": OTHER_ADDRESS}, headers=auth("shop")
    )
    assert placed.status_code == 201, placed.text


def test_moving_an_account_to_a_new_address_is_told_to_the_old_one(
    client: TestClient, auth: Headers, settings: Settings
) -> None:
    subject_id = client.post("/api/v1/subjects", json=GRACE_ORDER, headers=auth("shop")).json()[
        "subject_id"
    ]
    request_id = verified_request(client.app, GRACE["email"])  # type: ignore[arg-type]
    before = {m.id for m in queued_mails(settings.resolved_database_url, settings.data_dir)}
    moved = client.patch(
        f"/api/v1/subjects/{subject_id}",
        json={"data": {"email": "new.grace@example.org"}, "request_id": request_id},
        headers=auth("dpo"),
    )
    assert moved.status_code == 200, moved.text
    sent = [
        m for m in queued_mails(settings.resolved_database_url, settings.data_dir)
        if m.id not in before
    ]  # fmt: skip
    assert sorted(m.payload["to"] for m in sent) == sorted(
        [GRACE["email"], "new.grace@example.org"]
    )
