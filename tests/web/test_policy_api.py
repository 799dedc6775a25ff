"""The policy as JSON: /api/v1/policy and /api/v1/policy/versions, public and documented."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from webapp import TestClient, sqlite_client


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with sqlite_client(tmp_path) as test_client:
        yield test_client


def test_policy_in_force_as_json_without_an_api_key(client: TestClient) -> None:
    response = client.get("/api/v1/policy")

    assert response.status_code == 200
    body = response.json()
    assert body["version"] == "2026-11"
    assert body["effective_date"] == "2026-11-01"
    assert {p["key"] for p in body["purposes"]} >= {"order_processing", "newsletter", "billing"}
    assert {r["key"] for r in body["recipients"]} == {
        "freight_carrier",
        "payment_service_provider",
        "bank",
    }
    cookie = next(c for c in body["cookies"] if c["name"] == "schutz_session")
    assert cookie["category"] == "essential"
    assert cookie["duration"] == "session"


def test_policy_json_carries_both_languages_and_the_legal_basis(client: TestClient) -> None:
    billing = next(
        p for p in client.get("/api/v1/policy").json()["purposes"] if p["key"] == "billing"
    )

    assert billing["legal_basis"] == "contract"
    assert billing["legal_basis_article"] == "Art. 6(1)(b) GDPR"
    assert billing["name"] == {"en": "Invoicing and payment", "de": "Rechnungsstellung und Zahlung"}
    assert billing["retention"]["period"] == "P8Y"


def test_policy_json_leaves_out_internal_staff_roles(client: TestClient) -> None:
    for purpose in client.get("/api/v1/policy").json()["purposes"]:
        assert "roles" not in purpose


def test_versions_list_marks_the_one_in_force(client: TestClient) -> None:
    response = client.get("/api/v1/policy/versions")

    assert response.status_code == 200
    assert response.json() == [
        {"version": "2013-06", "effective_date": "2013-06-01", "in_force": False},
        {"version": "2026-11", "effective_date": "2026-11-01", "in_force": True},
    ]


def test_openapi_documents_the_policy_models(client: TestClient) -> None:
    schema = client.get("/api/v1/openapi.json").json()

    get_policy = schema["paths"]["/api/v1/policy"]["get"]
    ref = get_policy["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert ref.endswith("/PolicyPublic")
    assert "security" not in get_policy
    cookie = schema["components"]["schemas"]["CookiePublic"]["properties"]
    assert {"name", "category", "duration"} <= set(cookie)
    assert "/api/v1/policy/versions" in schema["paths"]


def test_unknown_api_path_is_json_404(client: TestClient) -> None:
    response = client.get("/api/v1/policy/nope")

    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}
