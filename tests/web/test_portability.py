"""Portability (Art. 20): asked for at /requests/new, confirmed by link, the data the subject
gave as a page, JSON and CSV; observed data and data kept on legitimate interests left out."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from outbox_mail import queued_mails
from records import NOW, api_customer
from schutz.config import BUNDLED_POLICY_DIR
from schutz.policy.loader import load_policy_set
from schutz.subject_requests.portability import left_out_because
from schutz.vault.service import HeldField
from webapp import Headers, TestClient, deliver, form_token_in, token_in

ADA: dict[str, Any] = {
    "email": "ada.lovelace@example.org",
    "name": "=HYPERLINK(\"http://evil.example\")",
    "postal_address": {"street": "Hansaallee 299", "postal_code": "40549", "city": "Düsseldorf",
                       "country": "DE"},
}  # fmt: skip
POLICY = load_policy_set(BUNDLED_POLICY_DIR).in_force(NOW.date())


@pytest.fixture
def follow_redirects() -> bool:
    return False


def _mail(client: TestClient, holding: str) -> str:
    settings = client.app.state.settings  # type: ignore[attr-defined]
    deliver(client.app.state.sessions, settings)  # type: ignore[attr-defined]
    mails = queued_mails(settings.resolved_database_url, settings.data_dir)
    bodies = [str(m.payload["body"]) for m in mails if m.payload["to"] == ADA["email"]]
    return [b for b in bodies if holding in b][-1]


def _field(field: str, category: str, source: str, *purposes: str) -> HeldField:
    return HeldField(field, category, "v", source, purposes, "2026-11", NOW, NOW)


@pytest.mark.parametrize(
    ("field", "reason"),
    [
        (_field("email", "user.contact.email", "registration", "information_access"), None),
        (_field("email", "user.contact.email", "newsletter", "newsletter"), None),
        (_field("phone", "user.contact.phone_number", "contact_form", "answer_queries"),
         "legal_basis"),
        (_field("name", "user.name", "survey", "market_research"), "legal_basis"),
        (_field("orders", "user.behavior.purchase_history", "order", "order_processing"),
         "observed"),
        (_field("name", "user.name", "fax_import", "order_processing"), "source"),
    ],
)  # fmt: skip
def test_only_data_the_subject_provided_for_a_contract_or_with_consent_is_portable(
    field: HeldField, reason: str | None
) -> None:
    assert left_out_because(POLICY, field) == reason


def test_a_portability_request_gives_json_and_csv_through_the_verify_link(
    client: TestClient, auth: Headers
) -> None:
    api_customer(client, auth, ADA, source="registration", purposes=["information_access"])
    extra = {"source": "contact_form", "purposes": ["answer_queries"],
             "data": {"email": ADA["email"], "phone": "+49 30 1234567"}}  # fmt: skip
    assert client.post("/api/v1/subjects", json=extra, headers=auth("support")).status_code < 300

    form = client.get("/requests/new?kind=portability&lang=de")
    assert "Die Daten, die ich Ihnen gegeben habe" in form.text
    sent = client.post(
        "/requests/new",
        data={"kind": "portability", "email": ADA["email"], "form_token": form_token_in(form.text)},
    )
    assert sent.status_code == 200
    token = token_in(_mail(client, "/requests/verify"), "/requests/verify")
    assert client.post("/requests/verify", params={"token": token}).status_code == 200
    export = token_in(_mail(client, "/requests/export"), "/requests/export")

    page = client.get("/requests/export", params={"token": export})
    assert page.status_code == 200
    assert "The data you gave us" in page.text
    assert "Düsseldorf" in page.text
    assert "1234567" not in page.text  # kept on legitimate interests: not portable

    package = client.get("/requests/export.json", params={"token": export}).json()
    assert package["format"] == "schutz.portable-data/1"
    assert package["data"]["postal_address"]["city"] == "Düsseldorf"
    assert {"field": "phone", "category": "user.contact.phone_number",
            "reason": "legal_basis"} in package["left_out"]  # fmt: skip

    answer = client.get("/requests/export.csv", params={"token": export})
    assert answer.headers["content-type"].startswith("text/csv")
    assert answer.headers["cache-control"] == "no-store"
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    by_field = {r["field"]: r for r in rows}
    assert by_field["postal_address.city"]["value"] == "Düsseldorf"
    assert by_field["name"]["value"].startswith("'=")  # no formula in a spreadsheet
    assert "phone" not in by_field


def test_an_access_link_has_no_csv(client: TestClient, auth: Headers) -> None:
    api_customer(client, auth, ADA)
    client.post("/api/v1/requests", json={"kind": "access", "email": ADA["email"]},
                headers=auth("shop"))  # fmt: skip
    token = token_in(_mail(client, "/requests/verify"), "/requests/verify")
    client.post("/requests/verify", params={"token": token})
    export = token_in(_mail(client, "/requests/export"), "/requests/export")

    assert client.get("/requests/export.csv", params={"token": export}).status_code == 409
    assert client.get("/requests/export.json", params={"token": export}).status_code == 200
