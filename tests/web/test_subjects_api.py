"""`/api/v1/subjects` over HTTP, per the contract in DESIGN.md, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from schutz.audit.models import AuditEntry
from schutz.config import Settings
from schutz.vault.keys import load_keyring
from schutz.vault.service import reveal_justification
from webapp import GRACE_ORDER as ORDER
from webapp import Headers, TestClient, verified_request


def _audit(engine: Engine, action: str) -> list[AuditEntry]:
    with Session(engine) as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def test_intake_returns_201_and_the_stored_fields(client: TestClient, auth: Headers) -> None:
    answer = client.post("/api/v1/subjects", json=ORDER, headers=auth("shop"))
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert len(body["subject_id"]) == 32
    assert set(body["stored"]) == {
        "email",
        "name",
        "phone",
        "postal_address.street",
        "postal_address.postal_code",
        "postal_address.city",
        "postal_address.country",
    }


def test_known_email_answers_200_with_the_same_subject(client: TestClient, auth: Headers) -> None:
    first = client.post("/api/v1/subjects", json=ORDER, headers=auth("shop")).json()
    signup = {
        "source": "newsletter",
        "purposes": ["newsletter"],
        "data": {"email": "GRACE.HOPPER@example.org"},
    }
    again = client.post("/api/v1/subjects", json=signup, headers=auth("shop"))
    assert again.status_code == 200
    assert again.json()["subject_id"] == first["subject_id"]


def test_fields_not_allowed_for_the_source_are_named_and_nothing_is_stored(
    client: TestClient, auth: Headers
) -> None:
    bad = {**ORDER, "source": "newsletter", "purposes": ["newsletter"]}
    answer = client.post("/api/v1/subjects", json=bad, headers=auth("shop"))
    assert answer.status_code == 422
    detail = answer.json()["detail"]
    assert "name" in detail
    assert "postal_address.city" in detail
    assert "Hopper" not in answer.text
    lookup = client.post(
        "/api/v1/subjects/lookup", json={"email": "grace.hopper@example.org"}, headers=auth("shop")
    )
    assert lookup.status_code == 404


def test_unknown_field_is_refused_by_name(client: TestClient, auth: Headers) -> None:
    bad = {**ORDER, "data": {**ORDER["data"], "birthday": "1906-12-09"}}
    answer = client.post("/api/v1/subjects", json=bad, headers=auth("shop"))
    assert answer.status_code == 422
    assert "birthday" in answer.text
    assert "1906" not in answer.text


def test_invalid_values_get_clear_messages(client: TestClient, auth: Headers) -> None:
    bad = {**ORDER, "data": {"email": "grace(at)example.org", "phone": "12"}}
    answer = client.post("/api/v1/subjects", json=bad, headers=auth("shop"))
    assert answer.status_code == 422
    assert "email: not a valid e-mail address" in answer.json()["detail"]
    assert "phone" in answer.json()["detail"]


def test_read_returns_only_allowed_fields_nested(client: TestClient, auth: Headers) -> None:
    subject_id = client.post("/api/v1/subjects", json=ORDER, headers=auth("shop")).json()[
        "subject_id"
    ]
    answer = client.get(
        f"/api/v1/subjects/{subject_id}", params={"purpose": "billing"}, headers=auth("shop")
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["data"]["name"] == "Grace Hopper"
    assert body["data"]["postal_address"]["city"] == "Berlin"
    assert "phone" not in body["data"]
    assert body["flagged"] is False


def test_denied_read_is_403_with_a_reason_and_audited(
    client: TestClient, auth: Headers, engine: Engine
) -> None:
    subject_id = client.post("/api/v1/subjects", json=ORDER, headers=auth("shop")).json()[
        "subject_id"
    ]
    answer = client.get(
        f"/api/v1/subjects/{subject_id}",
        params={"purpose": "direct_marketing"},
        headers=auth("support"),
    )
    assert answer.status_code == 403
    assert "support" in answer.json()["reason"]
    (entry,) = _audit(engine, "vault.read_denied")
    assert entry.purpose == "direct_marketing"


def test_exception_purpose_needs_the_justification_header(
    client: TestClient, auth: Headers, engine: Engine, settings: Settings
) -> None:
    subject_id = client.post("/api/v1/subjects", json=ORDER, headers=auth("shop")).json()[
        "subject_id"
    ]
    url = f"/api/v1/subjects/{subject_id}"
    refused = client.get(url, params={"purpose": "legal_obligation"}, headers=auth("dpo"))
    assert refused.status_code == 403
    assert "justification" in refused.json()["reason"]
    reason = "Tax audit (Betriebsprüfung) 2026"
    headers = {name.encode(): value.encode() for name, value in auth("dpo").items()}
    headers[b"X-Schutz-Justification"] = reason.encode()
    allowed = client.get(url, params={"purpose": "legal_obligation"}, headers=headers)
    assert allowed.status_code == 200, allowed.text
    assert allowed.json()["flagged"] is True
    (entry,) = _audit(engine, "vault.read")
    assert entry.flagged
    assert entry.actor == "apikey:test-dpo"
    with Session(engine) as session:
        sealed = entry.details["justification"]
        keyring = load_keyring(settings)
        assert reveal_justification(session, keyring, subject_id, sealed) == reason


def test_patch_rectifies_and_answers_the_fields(client: TestClient, auth: Headers) -> None:
    subject_id = client.post("/api/v1/subjects", json=ORDER, headers=auth("shop")).json()[
        "subject_id"
    ]
    request_id = verified_request(client.app, ORDER["data"]["email"])  # type: ignore[arg-type]
    patch = {"data": {"postal_address": {"street": "Friedrichstraße 43"}}, "request_id": request_id}
    answer = client.patch(f"/api/v1/subjects/{subject_id}", json=patch, headers=auth("support"))
    assert answer.status_code == 200, answer.text
    assert answer.json()["stored"] == ["postal_address.street"]
    read = client.get(
        f"/api/v1/subjects/{subject_id}",
        params={"purpose": "order_processing"},
        headers=auth("support"),
    )
    assert read.json()["data"]["postal_address"]["street"] == "Friedrichstraße 43"


def test_patch_without_a_verified_request_changes_nothing(
    client: TestClient, auth: Headers, engine: Engine
) -> None:
    subject_id = client.post("/api/v1/subjects", json=ORDER, headers=auth("shop")).json()[
        "subject_id"
    ]
    for role in ("support", "dpo", "admin"):
        answer = client.patch(
            f"/api/v1/subjects/{subject_id}", json={"data": {"name": "X"}}, headers=auth(role)
        )
        assert answer.status_code == 403
        assert answer.json()["rule"] == "rectification_authority"
    # Another subject's verified request does not carry a change of this one.
    other = {**ORDER, "data": {**ORDER["data"], "email": "other@example.org"}}
    client.post("/api/v1/subjects", json=other, headers=auth("shop"))
    foreign = verified_request(client.app, "other@example.org")  # type: ignore[arg-type]
    answer = client.patch(
        f"/api/v1/subjects/{subject_id}",
        json={"data": {"name": "X"}, "request_id": foreign},
        headers=auth("dpo"),
    )
    assert answer.status_code == 403
    assert len(_audit(engine, "vault.rectify_refused")) == 4
    read = client.get(
        f"/api/v1/subjects/{subject_id}", params={"purpose": "order_processing"},
        headers=auth("support"),
    )  # fmt: skip
    assert read.json()["data"]["name"] == ORDER["data"]["name"]


def test_patch_needs_a_writing_role(client: TestClient, auth: Headers) -> None:
    subject_id = client.post("/api/v1/subjects", json=ORDER, headers=auth("shop")).json()[
        "subject_id"
    ]
    answer = client.patch(
        f"/api/v1/subjects/{subject_id}", json={"data": {"name": "X"}}, headers=auth("marketing")
    )
    assert answer.status_code == 403
    answer = client.patch(
        f"/api/v1/subjects/{subject_id}", json={"data": {"name": "X"}}, headers=auth("shop")
    )
    assert answer.status_code == 403


def test_no_key_is_401_and_unknown_subject_is_404(client: TestClient, auth: Headers) -> None:
    assert client.post("/api/v1/subjects", json=ORDER).status_code == 401
    answer = client.get(
        "/api/v1/subjects/" + "0" * 32, params={"purpose": "order_processing"}, headers=auth("shop")
    )
    assert answer.status_code == 404


def test_a_lone_surrogate_is_422_and_nothing_is_stored(
    client: TestClient, auth: Headers, engine: Engine
) -> None:
    body = (
        '{"source": "order", "purposes": ["order_processing"],'
        ' "data": {"email": "surrogate@example.org", "name": "A\\ud800B"}}'
    )
    answer = client.post(
        "/api/v1/subjects",
        content=body,
        headers={**auth("shop"), "Content-Type": "application/json"},
    )
    assert answer.status_code == 422
    assert "name" in answer.text
    assert _audit(engine, "vault.intake") == []
    again = client.post(
        "/api/v1/subjects/lookup", json={"email": "surrogate@example.org"}, headers=auth("shop")
    )
    assert again.status_code == 404
