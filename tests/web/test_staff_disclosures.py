"""`/staff/disclosures`: endpoints, recent disclosures without personal data, dead-letter retry."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from schutz.clock import utcnow
from schutz.config import BUNDLED_POLICY_DIR, Settings
from schutz.disclosures import service
from schutz.disclosures.models import Disclosure, DisclosureStatus
from schutz.disclosures.payloads import OrderFacts, OrderItem
from schutz.identity.service import add_staff
from schutz.policy.loader import load_policy_set
from schutz.vault import service as vault
from schutz.vault.keys import load_keyring
from webapp import TestClient

PASSWORD = "a long enough secret"


@pytest.fixture
def follow_redirects() -> bool:
    return False


@pytest.fixture
def dead_id(session: Session, settings: Settings) -> str:
    """An order whose carrier delivery died; staff of three roles to look at it."""
    now = utcnow()
    rules = load_policy_set(BUNDLED_POLICY_DIR).engine("2026-11")
    keyring = load_keyring(settings)
    subject_id = vault.intake(
        session,
        rules,
        keyring,
        source="order",
        purposes=["order_processing", "billing"],
        data={
            "email": "ada@example.org",
            "name": "Ada Lovelace",
            "postal_address.street": "Hansaallee 299",
            "postal_address.postal_code": "40549",
            "postal_address.city": "Düsseldorf",
            "postal_address.country": "DE",
        },
        asserted_by="shop",
        actor="t",
        now=now,
    ).subject_id
    from decimal import Decimal

    order = OrderFacts(
        subject_id, "GS-77", (OrderItem("A690", "Gigaset A690", 1, Decimal("29.99")),),
        Decimal("29.99"), "EUR", "card", "PAY-1",
    )  # fmt: skip
    result = service.place_order(session, rules, keyring, order, role="shop", actor="t", now=now)
    carrier = next(d for d in result.disclosures if d.recipient == "freight_carrier")
    service.record_outcome(
        session, carrier.id, status=DisclosureStatus.DEAD, error="HTTP 410", now=now
    )
    for role in ("fulfilment", "marketing"):
        add_staff(
            session, email=f"{role}@shop.example", role=role, password=PASSWORD, actor="t", now=now
        )
    session.commit()
    return carrier.id


def _sign_in(client: TestClient, role: str) -> None:
    page = client.get("/staff/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    data = {"email": f"{role}@shop.example", "password": PASSWORD, "csrf_token": token.group(1)}
    assert client.post("/staff/login", data=data).status_code == 303


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found
    return found.group(1)


def test_the_page_lists_recipients_dead_letters_and_recent_disclosures_without_personal_data(
    client: TestClient, dead_id: str
) -> None:
    _sign_in(client, "fulfilment")

    page = client.get("/staff/disclosures")

    assert page.status_code == 200
    assert "Freight carriers" in page.text
    assert "not configured" in page.text
    assert "GS-77" in page.text
    assert "HTTP 410" in page.text
    assert f"/staff/disclosures/{dead_id}/retry" in page.text
    for personal in ("Ada", "Hansaallee", "Düsseldorf", "PAY-1", "ada@example.org"):
        assert personal not in page.text


def test_retry_needs_the_csrf_token_and_queues_the_delivery_again(
    client: TestClient, dead_id: str, session: Session
) -> None:
    _sign_in(client, "fulfilment")
    page = client.get("/staff/disclosures")

    forged = client.post(f"/staff/disclosures/{dead_id}/retry", data={"csrf_token": "x"})
    assert forged.status_code == 403

    done = client.post(f"/staff/disclosures/{dead_id}/retry", data={"csrf_token": _csrf(page.text)})
    assert done.status_code == 303
    row = session.scalars(select(Disclosure).where(Disclosure.id == dead_id)).one()
    assert row.status == "queued"
    assert row.retries == 1
    after = client.get(done.headers["location"])
    assert "queued again" in after.text


def test_marketing_may_not_open_it(client: TestClient, dead_id: str) -> None:
    _sign_in(client, "marketing")
    assert client.get("/staff/disclosures").status_code == 403


def test_signed_out_visitors_are_sent_to_sign_in(client: TestClient) -> None:
    answer = client.get("/staff/disclosures")
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/staff/login")


def test_the_page_speaks_german(client: TestClient, dead_id: str) -> None:
    _sign_in(client, "fulfilment")
    page = client.get("/staff/disclosures?lang=de")
    assert "<h1>Weitergaben</h1>" in page.text
    assert "Fehlgeschlagene Übermittlungen" in page.text  # issue 17: in words, not "dead letters"
    assert "Erneut senden" in page.text
