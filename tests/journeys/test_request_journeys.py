"""Data-subject requests end to end, over HTTP, with mail delivered as .eml files.

Access: request → verification mail → verify → the export holds this subject's fields and
consents and nothing of another subject. Erasure: request → verify → DPO approval → the
subject is gone (look-up 404, tombstone, audit intact). Erasure under an invoice hold →
restricted until the hold lapses. A request nobody verifies expires.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy.orm import Session

from records import api_customer
from schutz.audit.service import verify
from schutz.clock import utcnow
from schutz.config import Settings
from schutz.consent.service import record_consent
from schutz.policy.loader import load_policy_set
from schutz.subject_requests import service
from schutz.vault import service as vault
from schutz.vault.models import Subject, Tombstone
from webapp import (
    Headers,
    TestClient,
    deliver,
    delivered_to,
    token_in,
)

ADA = {
    "email": "ada.lovelace@example.org",
    "name": "Ada Lovelace",
    "postal_address": {"street": "Hansaallee 299", "postal_code": "40549", "city": "Düsseldorf",
                       "country": "DE"},
}  # fmt: skip
GRACE = {"email": "grace.hopper@example.org", "name": "Grace Hopper"}


@pytest.fixture
def follow_redirects() -> bool:
    return False


def _ask(client: TestClient, auth: Headers, kind: str, email: str) -> str:
    made = client.post(
        "/api/v1/requests", json={"kind": kind, "email": email}, headers=auth("shop")
    )
    assert made.status_code == 202, made.text
    return str(made.json()["request_id"])


def _verify_from_mail(client: TestClient, settings: Settings, email: str) -> None:
    deliver(client.app.state.sessions, settings)  # type: ignore[attr-defined]
    subject, body = delivered_to(settings, email)[-1]
    assert subject == "Please confirm your request"
    confirmed = client.post(
        "/requests/verify", params={"token": token_in(body, "/requests/verify")}
    )
    assert confirmed.status_code == 200, confirmed.text


def test_access_request_through_the_public_form_ends_in_this_subjects_export(
    client: TestClient, auth: Headers, settings: Settings, session: Session
) -> None:
    ada = api_customer(client, auth, ADA)
    api_customer(client, auth, GRACE)
    policy = load_policy_set(settings.policy).in_force(utcnow().date())
    record_consent(
        session, policy, subject_id=ada, purpose="market_research", action="object",
        channel="fax", evidence="fax-2026-11-17", actor="staff:support", now=utcnow(),
    )  # fmt: skip
    session.commit()
    form = client.get("/requests/new")
    import re

    form_token = re.search(r'name="form_token" value="([^"]+)"', form.text)
    assert form_token is not None
    sent = client.post(
        "/requests/new",
        data={"kind": "access", "email": ADA["email"], "form_token": form_token.group(1)},
    )
    assert sent.status_code == 200

    _verify_from_mail(client, settings, str(ADA["email"]))
    deliver(client.app.state.sessions, settings)  # type: ignore[attr-defined]
    subject, body = delivered_to(settings, str(ADA["email"]))[-1]
    assert subject == "Your personal data: download"
    export = client.get(
        "/requests/export.json", params={"token": token_in(body, "/requests/export")}
    )

    assert export.status_code == 200
    package = export.json()
    values = {f["field"]: f["value"] for f in package["personal_data"]}
    assert values["email"] == ADA["email"]
    assert values["postal_address.city"] == "Düsseldorf"
    assert package["consents"]["current"]["market_research"] == "objected"
    assert [e["evidence"] for e in package["consents"]["history"]] == ["fax-2026-11-17"]
    assert "disclosures" in package
    assert "Grace" not in export.text
    assert "grace.hopper" not in export.text
    assert verify(session).ok


def test_erasure_request_approved_by_the_dpo_leaves_nothing(
    client: TestClient, auth: Headers, settings: Settings, session: Session
) -> None:
    ada = api_customer(client, auth, ADA)
    request_id = _ask(client, auth, "erasure", str(ADA["email"]))
    _verify_from_mail(client, settings, str(ADA["email"]))
    assert client.get(f"/api/v1/requests/{request_id}", headers=auth("dpo")).json()["status"] == (
        "in_progress"
    )

    approved = client.post(f"/api/v1/requests/{request_id}/approve", headers=auth("dpo"))

    assert approved.status_code == 200, approved.text
    assert approved.json()["outcome"] == "erased"
    lookup = client.post(
        "/api/v1/subjects/lookup", json={"email": ADA["email"]}, headers=auth("shop")
    )
    assert lookup.status_code == 404
    assert session.get(Tombstone, ada) is not None
    assert verify(session).ok
    deliver(client.app.state.sessions, settings)  # type: ignore[attr-defined]
    assert delivered_to(settings, str(ADA["email"]))[-1][0] == "Your personal data has been erased"


def test_erasure_under_an_invoice_hold_restricts_until_the_lapse_date(
    client: TestClient, auth: Headers, settings: Settings, session: Session
) -> None:
    ada = api_customer(client, auth, ADA)
    policy = load_policy_set(settings.policy).in_force(utcnow().date())
    today = utcnow().date()
    vault.place_hold(
        session, policy, ada, "invoices", reference="order-4711", event_date=today,
        actor="apikey:shop", now=utcnow(),
    )  # fmt: skip
    session.commit()
    request_id = _ask(client, auth, "erasure", str(ADA["email"]))
    _verify_from_mail(client, settings, str(ADA["email"]))

    approved = client.post(f"/api/v1/requests/{request_id}/approve", headers=auth("dpo")).json()

    lapse = date(today.year + 9, 1, 1)
    assert approved["outcome"] == "erasure_held"
    assert approved["held_until"] == lapse.isoformat()
    session.expire_all()
    subject = session.get(Subject, ada)
    assert subject is not None
    assert subject.restricted_at is not None
    assert subject.erasure_due_on == lapse
    deliver(client.app.state.sessions, settings)  # type: ignore[attr-defined]
    subject_line, body = delivered_to(settings, str(ADA["email"]))[-1]
    assert subject_line == "Your erasure request: what we must keep"
    assert "Invoices and accounting vouchers" in body
    assert lapse.strftime("%d %B %Y") in body


def test_a_request_nobody_verifies_expires(
    client: TestClient, auth: Headers, session: Session
) -> None:
    request_id = _ask(client, auth, "access", "someone@example.org")

    expired = service.expire_unverified(
        session, actor="system:requests", now=utcnow() + timedelta(days=8)
    )
    session.commit()

    assert request_id in expired
    status = client.get(f"/api/v1/requests/{request_id}", headers=auth("support")).json()
    assert status["status"] == "expired"
