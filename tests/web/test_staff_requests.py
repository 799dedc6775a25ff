"""The staff request queue: filters, overdue highlighted, role-bound actions, CSV, records."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from schutz.audit.models import AuditEntry
from schutz.subject_requests.models import DataRequest, RequestEvent
from webapp import Headers, TestClient, sign_in_staff


@pytest.fixture
def follow_redirects() -> bool:
    return False


def _ask(client: TestClient, auth: Headers, kind: str = "access") -> str:
    made = client.post(
        "/api/v1/requests", json={"kind": kind, "email": "x@example.org"}, headers=auth("shop")
    )
    return str(made.json()["request_id"])


def test_overdue_requests_are_highlighted_and_filterable(
    client: TestClient, auth: Headers, engine: Engine, session: Session
) -> None:
    late, fresh = _ask(client, auth), _ask(client, auth, "erasure")
    stored = session.get(DataRequest, late)
    assert stored is not None
    stored.due_at -= timedelta(days=40)  # received long ago: the month has run out
    session.commit()
    sign_in_staff(client, engine, "support")

    page = client.get("/staff/requests")
    assert page.status_code == 200

    def row_of(request_id: str) -> str:
        return page.text.split(f"<code>{request_id[:8]}</code>")[1].split("</tr>")[0]

    assert "overdue" in row_of(late)
    assert "overdue" not in row_of(fresh)
    only = client.get("/staff/requests", params={"overdue": "true"})
    assert late[:8] in only.text
    assert fresh[:8] not in only.text
    by_kind = client.get("/staff/requests", params={"kind": "erasure"})
    assert fresh[:8] in by_kind.text
    assert late[:8] not in by_kind.text
    csv = client.get("/staff/requests.csv", params={"overdue": "true"})
    assert csv.headers["content-type"].startswith("text/csv")
    assert f"{late},access,api,awaiting_verification" in csv.text
    assert ",yes," in csv.text


def test_support_verifies_a_letter_and_only_the_dpo_extends(
    client: TestClient, auth: Headers, engine: Engine, session: Session
) -> None:
    request_id = _ask(client, auth)
    csrf = sign_in_staff(client, engine, "support")

    verified = client.post(
        f"/staff/requests/{request_id}/verify",
        data={"csrf_token": csrf, "note": "Signed letter; customer number matches"},
    )
    assert verified.status_code == 303
    denied = client.post(
        f"/staff/requests/{request_id}/extend",
        data={"csrf_token": csrf, "months": "1", "reason": "x"},
    )
    assert denied.status_code == 403
    no_csrf = client.post(f"/staff/requests/{request_id}/assign", data={})
    assert no_csrf.status_code == 403
    events = session.scalars(
        select(RequestEvent.action).where(RequestEvent.request_id == request_id)
    ).all()
    assert "verified" in events
    assert (
        session.scalars(select(AuditEntry).where(AuditEntry.action == "request.verified")).first()
        is not None
    )


def test_the_dpo_extends_with_a_reason_that_is_recorded(
    client: TestClient, auth: Headers, engine: Engine, session: Session
) -> None:
    request_id = _ask(client, auth)
    csrf = sign_in_staff(client, engine, "dpo")

    missing = client.post(
        f"/staff/requests/{request_id}/extend", data={"csrf_token": csrf, "months": "1"}
    )
    assert "error=invalid" in missing.headers["location"]
    done = client.post(
        f"/staff/requests/{request_id}/extend",
        data={"csrf_token": csrf, "months": "2", "reason": "Archive search across 9 years"},
    )
    assert done.status_code == 303
    page = client.get(f"/staff/requests/{request_id}")
    assert "Archive search across 9 years" in page.text
    request = session.get(DataRequest, request_id)
    assert request is not None
    assert request.extended_months == 2
    assert request.extension_reason == "Archive search across 9 years"


def test_staff_enter_a_fax_request(client: TestClient, engine: Engine) -> None:
    csrf = sign_in_staff(client, engine, "support")
    entered = client.post(
        "/staff/requests/new",
        data={"csrf_token": csrf, "kind": "objection", "channel": "fax",
              "email": "someone@example.org", "subject_lang": "de"},
    )  # fmt: skip
    assert entered.status_code == 303
    detail = client.get(entered.headers["location"])
    assert "fax" in detail.text
    assert "someone@example.org" not in detail.text


def test_records_of_processing_as_html_and_csv(client: TestClient, engine: Engine) -> None:
    sign_in_staff(client, engine, "dpo")

    html = client.get("/staff/records", params={"lang": "de"})
    assert html.status_code == 200
    assert "Verzeichnis von Verarbeitungstätigkeiten" in html.text
    assert "Art. 6 Abs. 1 lit. b DSGVO" in html.text
    csv = client.get("/staff/records.csv")
    assert csv.text.splitlines()[0].startswith("purpose,name,legal_basis")
    assert "order_processing" in csv.text


def test_records_are_for_the_dpo_and_admin(client: TestClient, engine: Engine) -> None:
    sign_in_staff(client, engine, "support")
    assert client.get("/staff/records").status_code == 403
