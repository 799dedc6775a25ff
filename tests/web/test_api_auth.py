"""API keys on /api/v1: 401 without a valid key, 403 for a role that may not, 200 otherwise."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

import pytest
from fastapi import APIRouter, Depends, FastAPI
from sqlalchemy.orm import Session

from schutz.clock import utcnow
from schutz.config import Settings
from schutz.identity.service import create_api_key, revoke_api_key
from schutz.web.app import create_app
from schutz.web.auth import Actor, require_role
from webapp import TestClient

probe = APIRouter()


@probe.get("/api/v1/test-only/dpo")
def dpo_only(actor: Annotated[Actor, Depends(require_role("dpo", "admin"))]) -> dict[str, str]:
    return {"label": actor.label, "role": actor.role, "kind": actor.kind}


@probe.get("/api/v1/test-only/any")
def any_key(actor: Annotated[Actor, Depends(require_role())]) -> dict[str, str]:
    return {"label": actor.label}


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    app: FastAPI = create_app(settings)
    app.include_router(probe)
    with TestClient(app) as client:
        yield client
    app.state.engine.dispose()


def new_key(session: Session, name: str, role: str) -> str:
    _, plaintext = create_api_key(session, name=name, role=role, actor="cli", now=utcnow())
    session.commit()
    return plaintext


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_no_key_is_401_with_a_bearer_challenge(client: TestClient) -> None:
    response = client.get("/api/v1/test-only/dpo")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert "API key" in response.json()["detail"]


@pytest.mark.parametrize(
    "header", ["Bearer nonsense", "Bearer schutz_abc_def", "Basic dXNlcjpwYXNz", "Bearer "]
)
def test_a_wrong_key_is_401(client: TestClient, header: str) -> None:
    response = client.get("/api/v1/test-only/dpo", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert set(response.json()) == {"detail"}


def test_a_key_whose_role_may_not_is_403(client: TestClient, session: Session) -> None:
    key = new_key(session, "shop-1", "shop")
    response = client.get("/api/v1/test-only/dpo", headers=bearer(key))
    assert response.status_code == 403
    assert response.json()["reason"] == "role"


def test_a_key_with_the_role_gets_an_actor_for_the_audit_log(
    client: TestClient, session: Session
) -> None:
    key = new_key(session, "dpo-desk", "dpo")
    response = client.get("/api/v1/test-only/dpo", headers=bearer(key))
    assert response.status_code == 200
    assert response.json() == {"label": "apikey:dpo-desk", "role": "dpo", "kind": "apikey"}


def test_without_roles_any_valid_key_will_do(client: TestClient, session: Session) -> None:
    key = new_key(session, "shop-1", "shop")
    assert client.get("/api/v1/test-only/any", headers=bearer(key)).status_code == 200


def test_a_revoked_key_is_401(client: TestClient, session: Session) -> None:
    key = new_key(session, "old", "admin")
    revoke_api_key(session, name="old", actor="cli", now=utcnow())
    session.commit()
    response = client.get("/api/v1/test-only/any", headers=bearer(key))
    assert response.status_code == 401


def test_the_openapi_document_declares_the_bearer_scheme(client: TestClient) -> None:
    schemes = client.get("/api/v1/openapi.json").json()["components"]["securitySchemes"]
    assert schemes["ApiKey"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "An API key from `schutz apikey create`: `Authorization: Bearer schutz_…`.",
    }
