"""`POST /api/v1/subjects/{id}/events`: last contact and contract end, for retention."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from records import api_customer
from schutz.audit.models import AuditEntry
from schutz.retention.models import SubjectEvent
from webapp import GRACE_ORDER, Headers, TestClient


def test_the_shop_reports_last_contact_and_contract_end(
    client: TestClient, auth: Headers, session: Session
) -> None:
    subject_id = api_customer(client, auth, GRACE_ORDER["data"])
    url = f"/api/v1/subjects/{subject_id}/events"

    made = client.post(url, json={"type": "last_contact"}, headers=auth("shop"))
    ended = client.post(
        url, json={"type": "contract_ended", "at": "2026-11-01T12:00:00+01:00"},
        headers=auth("support"),
    )  # fmt: skip

    assert made.status_code == ended.status_code == 201
    assert ended.json()["type"] == "contract_ended"
    assert ended.json()["at"].startswith("2026-11-01T11:00:00")
    rows = session.scalars(select(SubjectEvent).where(SubjectEvent.subject_id == subject_id)).all()
    assert sorted(r.type for r in rows) == ["contract_ended", "last_contact"]
    actions = session.scalars(
        select(AuditEntry.action).where(AuditEntry.subject_id == subject_id)
    ).all()
    assert "retention.last_contact" in actions
    assert "retention.contract_ended" in actions


def test_type_role_time_and_subject_are_checked(client: TestClient, auth: Headers) -> None:
    subject_id = api_customer(client, auth, GRACE_ORDER["data"])
    url = f"/api/v1/subjects/{subject_id}/events"

    assert client.post(url, json={"type": "birthday"}, headers=auth("shop")).status_code == 422
    future = {"type": "last_contact", "at": "2999-01-01T00:00:00Z"}
    assert client.post(url, json=future, headers=auth("shop")).status_code == 422
    naive = {"type": "last_contact", "at": "2026-01-01T00:00:00"}
    assert client.post(url, json=naive, headers=auth("shop")).status_code == 422
    assert (
        client.post(url, json={"type": "last_contact"}, headers=auth("marketing")).status_code
        == 403
    )
    assert client.post(url, json={"type": "last_contact"}).status_code == 401
    unknown = client.post(
        f"/api/v1/subjects/{'0' * 32}/events", json={"type": "last_contact"}, headers=auth("shop")
    )
    assert unknown.status_code == 404
