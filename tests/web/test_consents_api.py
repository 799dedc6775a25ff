"""`POST /api/v1/consents` and `GET /api/v1/subjects/{id}/consents`, per DESIGN.md."""

from __future__ import annotations

import pytest

from webapp import Headers, TestClient

CUSTOMER = {
    "source": "registration",
    "purposes": ["direct_marketing"],
    "data": {"email": "grace@example.org", "name": "Grace Hopper"},
}


@pytest.fixture
def subject_id(client: TestClient, auth: Headers) -> str:
    answer = client.post("/api/v1/subjects", json=CUSTOMER, headers=auth("shop"))
    assert answer.status_code == 201, answer.text
    return str(answer.json()["subject_id"])


def test_objection_by_email_is_recorded_and_blocks_marketing_reads(
    client: TestClient, auth: Headers, subject_id: str
) -> None:
    read = f"/api/v1/subjects/{subject_id}?purpose=direct_marketing"
    assert client.get(read, headers=auth("marketing")).status_code == 200
    answer = client.post(
        "/api/v1/consents",
        json={"email": "Grace@Example.org", "purpose": "direct_marketing", "action": "object",
              "channel": "post", "evidence": "scan-2026-0042"},
        headers=auth("support"),
    )  # fmt: skip
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert (body["subject_id"], body["state"], body["channel"]) == (subject_id, "objected", "post")

    consents = client.get(f"/api/v1/subjects/{subject_id}/consents", headers=auth("dpo")).json()
    assert consents["purposes"]["direct_marketing"]["state"] == "objected"
    assert consents["purposes"]["newsletter"]["state"] == "objected"  # Art. 21(3): all of it
    assert consents["history"][0]["evidence"] == "scan-2026-0042"


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"purpose": "selling_data"}, 422),
        ({"action": "confirm"}, 422),
        ({"channel": "pigeon"}, 422),
        ({"subject_id": None, "email": "nobody@example.org"}, 404),
        ({"email": "grace@example.org"}, 422),  # both subject_id and email
    ],
)
def test_bad_input_gets_a_clear_answer_and_changes_nothing(
    client: TestClient, auth: Headers, subject_id: str, change: dict[str, object], status: int
) -> None:
    body: dict[str, object] = {"subject_id": subject_id, "purpose": "direct_marketing",
                               "action": "object", "channel": "fax"}  # fmt: skip
    body.update(change)
    body = {k: v for k, v in body.items() if v is not None}
    answer = client.post("/api/v1/consents", json=body, headers=auth("support"))
    assert answer.status_code == status, answer.text
    assert "detail" in answer.json()
    assert "nobody@example.org" not in answer.text
    history = client.get(f"/api/v1/subjects/{subject_id}/consents", headers=auth("dpo")).json()
    assert history["history"] == []


def test_roles(client: TestClient, auth: Headers, subject_id: str) -> None:
    body = {"subject_id": subject_id, "purpose": "market_research", "action": "object",
            "channel": "api"}  # fmt: skip
    assert client.post("/api/v1/consents", json=body).status_code == 401
    assert client.post("/api/v1/consents", json=body, headers=auth("fulfilment")).status_code == 403
    assert client.post("/api/v1/consents", json=body, headers=auth("shop")).status_code == 201
    history = client.get(f"/api/v1/subjects/{subject_id}/consents", headers=auth("shop")).json()
    assert "ip_truncated" not in history["history"][0]


def test_consents_of_an_unknown_subject_are_a_404(client: TestClient, auth: Headers) -> None:
    answer = client.get("/api/v1/subjects/0123456789abcdef/consents", headers=auth("support"))
    assert answer.status_code == 404
    assert answer.json() == {"detail": "no such subject"}


@pytest.mark.parametrize("subject", ["0123456789abcdef0123456789abcdef", "../../x", "a" * 40])
def test_a_consent_for_a_subject_that_does_not_exist_is_a_404_and_writes_nothing(
    client: TestClient, auth: Headers, subject: str
) -> None:
    body = {"subject_id": subject, "purpose": "newsletter", "action": "grant", "channel": "api"}
    answer = client.post("/api/v1/consents", json=body, headers=auth("shop"))
    assert answer.status_code in (404, 422), answer.text
    assert client.get(f"/api/v1/subjects/{subject}/consents", headers=auth("dpo")).status_code in (
        404,
        422,
    )
