"""`/api/v1/requests` and the public request pages: 202 that reveals nothing, verify, export."""

from __future__ import annotations

from typing import Any

import pytest

from outbox_mail import queued_mails
from records import api_customer
from webapp import (
    Headers,
    TestClient,
    deliver,
    form_token_in,
    token_in,
)

ADA: dict[str, Any] = {
    "email": "ada.lovelace@example.org",
    "name": "Ada Lovelace",
    "postal_address": {"street": "Hansaallee 299", "postal_code": "40549", "city": "Düsseldorf",
                       "country": "DE"},
}  # fmt: skip


@pytest.fixture
def follow_redirects() -> bool:
    return False


def _customer(client: TestClient, auth: Headers) -> str:
    return api_customer(client, auth, ADA)


def _outbox_body(client: TestClient, address: str, holding: str = "") -> str:
    """The newest mail to `address` whose body holds `holding`, after the worker ran
    (look-ups happen there); mails queued in one second have no order among them."""
    settings = client.app.state.settings  # type: ignore[attr-defined]
    deliver(client.app.state.sessions, settings)  # type: ignore[attr-defined]
    mails = queued_mails(settings.resolved_database_url, settings.data_dir)
    bodies = [str(m.payload["body"]) for m in mails if m.payload["to"] == address]
    return [b for b in bodies if holding in b][-1]


def test_known_and_unknown_addresses_get_the_same_202(client: TestClient, auth: Headers) -> None:
    _customer(client, auth)
    known = client.post(
        "/api/v1/requests", json={"kind": "access", "email": ADA["email"]}, headers=auth("shop")
    )
    unknown = client.post(
        "/api/v1/requests", json={"kind": "access", "email": "x@example.org"}, headers=auth("shop")
    )

    assert known.status_code == unknown.status_code == 202
    assert set(known.json()) == set(unknown.json()) == {"request_id", "status", "due_at"}
    assert known.json()["status"] == unknown.json()["status"] == "awaiting_verification"
    assert len(known.text) == len(unknown.text)


def test_a_request_needs_an_api_key_and_a_valid_body(client: TestClient, auth: Headers) -> None:
    body = {"kind": "access", "email": ADA["email"]}
    assert client.post("/api/v1/requests", json=body).status_code == 401
    bad = client.post("/api/v1/requests", json={**body, "kind": "sell"}, headers=auth("shop"))
    assert bad.status_code == 422
    assert ADA["email"] not in bad.text
    wrong = client.post("/api/v1/requests", json={**body, "email": "no"}, headers=auth("shop"))
    assert wrong.status_code == 422


def test_verify_then_the_subject_link_and_the_dpo_get_the_export(
    client: TestClient, auth: Headers
) -> None:
    subject_id = _customer(client, auth)
    made = client.post(
        "/api/v1/requests", json={"kind": "access", "email": ADA["email"]}, headers=auth("shop")
    ).json()
    token = token_in(_outbox_body(client, ADA["email"], "/requests/verify"), "/requests/verify")

    page = client.get("/requests/verify", params={"token": token})
    assert page.status_code == 200
    assert "Yes, this is my request" in page.text
    done = client.post("/requests/verify", params={"token": token})
    assert done.status_code == 200
    assert "/requests/export?token=" in done.text

    status = client.get(f"/api/v1/requests/{made['request_id']}", headers=auth("support"))
    assert status.json()["status"] == "completed"
    assert status.json()["outcome"] == "export_ready"

    export_mail = _outbox_body(client, ADA["email"], "/requests/export")
    export_token = token_in(export_mail, "/requests/export")
    by_link = client.get(
        f"/api/v1/requests/{made['request_id']}/export", params={"token": export_token}
    )
    assert by_link.status_code == 200
    assert by_link.json()["subject_id"] == subject_id
    url = f"/api/v1/requests/{made['request_id']}/export"
    assert client.get(url, headers=auth("dpo")).status_code == 200
    assert client.get(url, headers=auth("support")).status_code == 403
    assert client.get(url).status_code == 401
    html = client.get("/requests/export", params={"token": export_token, "lang": "de"})
    assert html.status_code == 200
    assert "Düsseldorf" in html.text
    assert "Ihre personenbezogenen Daten" in html.text


def test_approve_is_for_the_dpo_only(client: TestClient, auth: Headers) -> None:
    _customer(client, auth)
    made = client.post(
        "/api/v1/requests", json={"kind": "erasure", "email": ADA["email"]}, headers=auth("shop")
    ).json()
    url = f"/api/v1/requests/{made['request_id']}/approve"

    assert client.post(url, headers=auth("support")).status_code == 403
    assert client.post(url, headers=auth("dpo")).status_code == 409  # not verified yet


def test_the_public_form_works_without_cookies_or_javascript(client: TestClient) -> None:
    form = client.get("/requests/new?lang=de")
    assert form.status_code == 200
    assert "Ihre Datenschutzrechte" in form.text
    sent = client.post(
        "/requests/new",
        data={"kind": "access", "email": "nobody@example.org",
              "form_token": form_token_in(form.text)},
    )  # fmt: skip
    assert sent.status_code == 200
    assert "nobody@example.org" not in sent.text
    assert "set-cookie" not in sent.headers
    stale = client.post("/requests/new", data={"kind": "access", "email": "a@example.org"})
    assert stale.status_code == 400


def test_a_bad_link_says_so_without_a_trace(client: TestClient) -> None:
    page = client.get(
        "/requests/verify", params={"token": "forged"}, headers={"accept": "text/html"}
    )
    assert page.status_code == 400
    assert "Traceback" not in page.text
