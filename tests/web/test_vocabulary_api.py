"""The operator's vocabulary over HTTP, on SQLite and PostgreSQL: custom fields through
`POST /api/v1/subjects`, look-up by a custom identity with the value in the body (never in a
URL), a 409 that names no holder, processors on /privacy and custom cookie categories on
/cookies."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine

from schutz.config import Settings
from schutz.web.app import create_app
from vocabulary_policy import write_vocabulary_policy
from webapp import Headers, TestClient, api_keys, close_app


@pytest.fixture
def vocab_client(settings: Settings, tmp_path: Path) -> Iterator[TestClient]:
    policy_dir = write_vocabulary_policy(tmp_path / "policy")
    app: FastAPI = create_app(settings.model_copy(update={"policy": policy_dir}))
    with TestClient(app) as client:
        yield client
    close_app(app)


@pytest.fixture
def keys(engine: Engine) -> Headers:
    return api_keys(engine)


def _order(**data: str) -> dict[str, object]:
    return {"source": "order", "purposes": ["order_processing", "billing"], "data": data}


def test_intake_and_read_carry_custom_fields(vocab_client: TestClient, keys: Headers) -> None:
    shop = keys("shop")
    created = vocab_client.post(
        "/api/v1/subjects",
        json=_order(email="ada@example.org", customer_number="C-000123", loyalty_tier="gold"),
        headers=shop,
    )
    assert created.status_code == 201, created.text
    assert set(created.json()["stored"]) == {"email", "customer_number", "loyalty_tier"}
    subject_id = created.json()["subject_id"]

    read = vocab_client.get(
        f"/api/v1/subjects/{subject_id}", params={"purpose": "order_processing"}, headers=shop
    )
    assert read.json()["data"]["loyalty_tier"] == "gold"


def test_undeclared_field_is_refused_naming_it(vocab_client: TestClient, keys: Headers) -> None:
    answer = vocab_client.post(
        "/api/v1/subjects",
        json=_order(email="ada@example.org", shoe_size="42"),
        headers=keys("shop"),
    )
    assert answer.status_code == 422
    assert "shoe_size" in answer.json()["detail"]


def test_look_up_by_identity_posts_the_value(vocab_client: TestClient, keys: Headers) -> None:
    shop = keys("shop")
    body = _order(email="ada@example.org", customer_number="C-000123")
    subject_id = vocab_client.post("/api/v1/subjects", json=body, headers=shop).json()["subject_id"]

    found = vocab_client.post(
        "/api/v1/subjects/lookup",
        json={"identity": "customer_number", "value": "C-000123"},
        headers=shop,
    )
    assert found.json() == {"subject_id": subject_id}
    unknown = vocab_client.post(
        "/api/v1/subjects/lookup",
        json={"identity": "customer_number", "value": "C-000999"},
        headers=shop,
    )
    assert unknown.status_code == 404
    assert "C-000999" not in unknown.text
    refused = vocab_client.post(
        "/api/v1/subjects/lookup",
        json={"identity": "customer_number", "value": "C-000123"},
        headers=keys("marketing"),
    )
    assert refused.status_code == 403
    assert refused.json()["rule"] == "identity_role"


def test_identity_held_by_another_is_a_409_naming_no_one(
    vocab_client: TestClient, keys: Headers
) -> None:
    shop = keys("shop")
    vocab_client.post(
        "/api/v1/subjects", json=_order(email="ada@example.org", customer_number="C-000123"),
        headers=shop,
    )  # fmt: skip
    clash = vocab_client.post(
        "/api/v1/subjects", json=_order(email="eve@example.org", customer_number="C-000123"),
        headers=shop,
    )  # fmt: skip
    assert clash.status_code == 409
    assert "customer_number" in clash.json()["detail"]
    assert "ada" not in clash.text


def test_policy_page_and_records_show_processors_with_their_contract(
    vocab_client: TestClient,
) -> None:
    page = vocab_client.get("/privacy", params={"lang": "de"}).text

    assert "Dienstleister, die Daten in unserem Auftrag verarbeiten" in page
    assert "Example Mail GmbH" in page
    assert "AVV 2026-014 of 3 March 2026" in page


def test_custom_cookie_category_is_offered_and_respected(vocab_client: TestClient) -> None:
    page = vocab_client.get("/cookies", params={"lang": "de"}).text
    assert "Support-Chat" in page
    assert 'value="support_chat"' in page

    saved = vocab_client.post(
        "/cookies",
        data={"action": "save", "allow": ["support_chat"], "next": "/cookies"},
        headers={"Origin": "http://testserver"},
        follow_redirects=False,
    )
    assert saved.status_code in (303, 302), saved.text
    assert "!support_chat1" in saved.headers["set-cookie"]
