"""`/staff/objections` (post, fax, phone); `/staff/mail` is tested in test_staff_mail.py."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from schutz.consent.models import ConsentEvent
from webapp import Headers, TestClient, sign_in_staff


@pytest.fixture
def follow_redirects() -> bool:
    return False


def customer(client: TestClient, auth: Headers) -> str:
    body = {"source": "registration", "purposes": ["direct_marketing"],
            "data": {"email": "fax.sender@example.org"}}  # fmt: skip
    return str(
        client.post("/api/v1/subjects", json=body, headers=auth("shop")).json()["subject_id"]
    )


def test_fax_objection_is_recorded_with_its_evidence(
    client: TestClient, auth: Headers, engine: Engine
) -> None:
    subject_id = customer(client, auth)
    csrf = sign_in_staff(client, engine, "support")
    assert client.get("/staff/objections").status_code == 200
    answer = client.post(
        "/staff/objections",
        data={"csrf_token": csrf, "email": "fax.sender@example.org", "channel": "fax",
              "evidence": "FAX-2026-117", "purposes": ["direct_marketing", "market_research"]},
    )  # fmt: skip
    assert answer.status_code == 200
    assert subject_id in answer.text
    with Session(engine) as session:
        events = session.scalars(select(ConsentEvent)).all()
    assert {(e.purpose, e.channel, e.evidence) for e in events} == {
        ("direct_marketing", "fax", "FAX-2026-117"),
        ("market_research", "fax", "FAX-2026-117"),
    }


def test_unknown_address_missing_evidence_and_missing_csrf_change_nothing(
    client: TestClient, auth: Headers, engine: Engine
) -> None:
    customer(client, auth)
    csrf = sign_in_staff(client, engine, "support")
    base = {"csrf_token": csrf, "email": "fax.sender@example.org", "channel": "fax",
            "evidence": "F-1", "purposes": ["direct_marketing"]}  # fmt: skip
    assert (
        client.post("/staff/objections", data={**base, "email": "x@example.org"}).status_code == 404
    )
    assert client.post("/staff/objections", data={**base, "evidence": ""}).status_code == 422
    assert client.post("/staff/objections", data={**base, "channel": "web"}).status_code == 422
    assert (
        client.post("/staff/objections", data={**base, "purposes": ["billing"]}).status_code == 422
    )
    assert client.post("/staff/objections", data={**base, "csrf_token": "x"}).status_code == 403
    with Session(engine) as session:
        assert session.scalars(select(ConsentEvent)).all() == []


def test_marketing_staff_may_not_enter_paper_objections(client: TestClient, engine: Engine) -> None:
    sign_in_staff(client, engine, "fulfilment")
    assert client.get("/staff/objections").status_code == 403
