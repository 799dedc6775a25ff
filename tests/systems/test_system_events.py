"""Request events to the operator's systems, their answers, and Art. 19 notices (issue 15)."""

from __future__ import annotations

import base64
import secrets
from typing import Any

from fastapi import FastAPI
from sqlalchemy import Engine, select

from schutz.client import callback_token
from schutz.mail.models import OutboxMessage
from schutz.systems.models import RequestNotice, RequestSystem
from schutz.vault.models import Subject
from systems.builders import SECRET
from webapp import GRACE_ORDER, Headers, TestClient, sign_in_staff, verified_request


def _customer_with_order(client: TestClient, auth: Headers) -> str:
    made = client.post("/api/v1/subjects", json=GRACE_ORDER, headers=auth("shop"))
    assert made.status_code in (200, 201), made.text
    subject_id: str = made.json()["subject_id"]
    order = {
        "subject_id": subject_id,
        "order_ref": "GS-4711",
        "items": [{"sku": "CL390", "name": "Gigaset CL390", "quantity": 1, "unit_price": 39.99}],
        "total": "44.98",
        "currency": "EUR",
        "payment": {"method": "card", "reference": "PAY-7F3A-2291"},
    }
    placed = client.post("/api/v1/orders", json=order, headers=auth("shop"))
    assert placed.status_code == 201, placed.text
    return subject_id


def _approved_erasure(app: FastAPI, client: TestClient, auth: Headers) -> str:
    _customer_with_order(client, auth)
    request_id = verified_request(app, GRACE_ORDER["data"]["email"], kind="erasure")
    approved = client.post(f"/api/v1/requests/{request_id}/approve", headers=auth("dpo"))
    assert approved.status_code == 200, approved.text
    return request_id


def _notices(app: FastAPI, request_id: str) -> list[RequestNotice]:
    with app.state.sessions() as session:
        return list(
            session.scalars(select(RequestNotice).where(RequestNotice.request_id == request_id))
        )


def _answer(client: TestClient, request_id: str, token: str, status: str = "done") -> Any:
    return client.post(
        f"/api/v1/requests/{request_id}/systems/shop_database",
        json={"status": status, "note": "rows deleted"},
        headers={"Authorization": f"Bearer {token}"},
    )


def test_an_approved_erasure_waits_for_the_system_and_tells_the_carrier(
    app: FastAPI, client: TestClient, auth: Headers
) -> None:
    request_id = _approved_erasure(app, client, auth)
    read = client.get(f"/api/v1/requests/{request_id}", headers=auth("support")).json()
    assert read["status"] == "awaiting_systems"
    assert read["systems"][0]["system"] == "shop_database"
    assert read["systems"][0]["status"] == "pending"
    sent = {(n.target_kind, n.target, n.event) for n in _notices(app, request_id)}
    assert ("system", "shop_database", "erasure.approved") in sent
    assert ("recipient", "freight_carrier", "notice.erasure") in sent
    carrier = next(n for n in _notices(app, request_id) if n.target == "freight_carrier")
    assert carrier.details["order_refs"] == ["GS-4711"]

    answered = _answer(client, request_id, callback_token(SECRET, request_id, "shop_database"))

    assert answered.status_code == 200, answered.text
    done = client.get(f"/api/v1/requests/{request_id}", headers=auth("support")).json()
    assert done["status"] == "completed"
    assert done["outcome"] in ("erased", "erasure_held")
    assert done["systems"][0]["status"] == "done"


def test_a_repeated_answer_changes_nothing_and_a_different_one_is_409(
    app: FastAPI, client: TestClient, auth: Headers
) -> None:
    request_id = _approved_erasure(app, client, auth)
    token = callback_token(SECRET, request_id, "shop_database")
    assert _answer(client, request_id, token).status_code == 200
    assert _answer(client, request_id, token).status_code == 200
    assert _answer(client, request_id, token, "failed").status_code == 409


def test_a_stranger_learns_nothing_of_which_requests_exist(
    app: FastAPI, client: TestClient, auth: Headers
) -> None:
    request_id = _approved_erasure(app, client, auth)
    unknown = secrets.token_hex(16)
    wrong_secret = callback_token(b"not the system's secret at all", request_id, "shop_database")
    other_request = callback_token(SECRET, unknown, "shop_database")
    answers = [
        client.post(
            f"/api/v1/requests/{request_id}/systems/shop_database", json={"status": "done"}
        ),
        _answer(client, request_id, wrong_secret),
        _answer(client, request_id, other_request),
        _answer(client, unknown, wrong_secret),
        _answer(client, request_id, auth("shop")["Authorization"].removeprefix("Bearer ")),
        client.post(  # not ASCII: once made the comparison raise (500)
            f"/api/v1/requests/{request_id}/systems/shop_database",
            json={"status": "done"},
            headers={b"Authorization": "Bearer été".encode("latin-1")},
        ),
    ]
    assert [a.status_code for a in answers] == [401] * 6
    assert len({a.json()["detail"] for a in answers}) == 1
    still = client.get(f"/api/v1/requests/{request_id}", headers=auth("dpo")).json()
    assert still["status"] == "awaiting_systems"


def test_an_access_request_completes_with_the_systems_data_in_the_package(
    app: FastAPI, client: TestClient, auth: Headers
) -> None:
    _customer_with_order(client, auth)
    request_id = verified_request(app, GRACE_ORDER["data"]["email"], kind="access")
    token = callback_token(SECRET, request_id, "shop_database")
    headers = {"Authorization": f"Bearer {token}"}
    assert (
        client.get(f"/api/v1/requests/{request_id}", headers=auth("dpo")).json()["status"]
        == "awaiting_systems"
    )
    data = {"orders": [{"order_ref": "GS-4711", "wishlist": ["CL390"]}]}
    given = client.post(
        f"/api/v1/requests/{request_id}/systems/shop_database/data",
        json={"data": data},
        headers=headers,
    )
    assert given.status_code == 200, given.text
    assert _answer(client, request_id, token).status_code == 200

    package = client.get(f"/api/v1/requests/{request_id}/export", headers=auth("dpo")).json()

    assert package["systems"] == {"shop_database": data}


def test_a_dpo_key_may_answer_for_a_system_that_cannot(
    app: FastAPI, client: TestClient, auth: Headers
) -> None:
    request_id = _approved_erasure(app, client, auth)
    key = auth("dpo")["Authorization"].removeprefix("Bearer ")
    assert _answer(client, request_id, key).status_code == 200
    with app.state.sessions() as session:
        row = session.get(RequestSystem, (request_id, "shop_database"))
        assert row is not None
        assert row.status == "done"


def test_a_rectification_tells_the_system_only_its_categories_and_the_carrier(
    app: FastAPI, client: TestClient, auth: Headers
) -> None:
    subject_id = _customer_with_order(client, auth)
    request_id = verified_request(app, GRACE_ORDER["data"]["email"])
    changed = client.patch(
        f"/api/v1/subjects/{subject_id}",
        json={"data": {"name": "Grace B. Hopper", "phone": "+49 30 1111111"},
              "request_id": request_id},
        headers=auth("support"),
    )  # fmt: skip
    assert changed.status_code == 200, changed.text
    sent = {(n.target, n.event) for n in _notices(app, request_id)}
    assert ("shop_database", "rectification.applied") in sent
    assert ("freight_carrier", "notice.rectification") in sent
    carrier = next(n for n in _notices(app, request_id) if n.target == "freight_carrier")
    assert carrier.details["categories"] == ["user.name"]


def test_the_staff_queue_names_the_system_still_pending(
    app: FastAPI, client: TestClient, auth: Headers, engine: Engine
) -> None:
    request_id = _approved_erasure(app, client, auth)
    sign_in_staff(client, engine, "dpo")

    page = client.get("/staff/requests?status=awaiting_systems")

    assert request_id[:8] in page.text
    assert "<code>shop_database</code>" in page.text


def test_the_requests_api_pages_by_keyset_and_shows_subject_ids_to_staff_only(
    app: FastAPI, client: TestClient, auth: Headers
) -> None:
    for n in range(3):
        body = {"kind": "access", "email": f"p{n}@example.org", "external_ref": f"T-{n}"}
        assert client.post("/api/v1/requests", json=body, headers=auth("shop")).status_code == 202
    first = client.get("/api/v1/requests?limit=2", headers=auth("support")).json()
    second = client.get(
        "/api/v1/requests", params={"limit": 2, "cursor": first["next"]}, headers=auth("support")
    ).json()
    refs = [r["external_ref"] for r in first["requests"] + second["requests"]]
    assert sorted(refs) == ["T-0", "T-1", "T-2"]
    assert second["next"] is None
    assert "subject_id" in first["requests"][0]
    as_shop = client.get("/api/v1/requests?kind=access", headers=auth("shop")).json()
    assert len(as_shop["requests"]) == 3
    assert all("subject_id" not in r for r in as_shop["requests"])
    filtered = client.get("/api/v1/requests?status=completed", headers=auth("dpo")).json()
    assert filtered["requests"] == []


def test_only_staff_may_filter_requests_by_subject(client: TestClient, auth: Headers) -> None:
    """The shop knows its customers' ids: a subject filter would tell it who asked for what."""
    body = {"kind": "erasure", "email": "p@example.org"}
    assert client.post("/api/v1/requests", json=body, headers=auth("shop")).status_code == 202
    [request] = client.get("/api/v1/requests", headers=auth("support")).json()["requests"]
    by_subject = {"subject_id": request["subject_id"] or "0" * 32}
    assert (
        client.get("/api/v1/requests", params=by_subject, headers=auth("shop")).status_code == 403
    )
    as_support = client.get("/api/v1/requests", params=by_subject, headers=auth("support"))
    assert as_support.status_code == 200


def test_a_forged_cursor_is_refused_not_a_server_error(client: TestClient, auth: Headers) -> None:
    forged = ["2099-01-01T00:00:00|x", "9999-12-31T23:59:59-23:59|a", "not a date|x"]
    for text in forged:
        cursor = base64.urlsafe_b64encode(text.encode()).decode()
        answer = client.get("/api/v1/requests", params={"cursor": cursor}, headers=auth("dpo"))
        assert answer.status_code == 422, text


def test_an_objection_through_the_consent_api_tells_the_systems(
    app: FastAPI, client: TestClient, auth: Headers
) -> None:
    """The shop's CRM must stop mailing an objector, however the objection arrived."""
    subject_id = _customer_with_order(client, auth)
    body = {"subject_id": subject_id, "purpose": "direct_marketing", "action": "object",
            "channel": "email", "evidence": "mail of 2026-11-29"}  # fmt: skip
    assert client.post("/api/v1/consents", json=body, headers=auth("support")).status_code == 201
    with app.state.sessions() as session:
        told = session.scalars(
            select(RequestNotice).where(
                RequestNotice.subject_id == subject_id, RequestNotice.event == "consent.changed"
            )
        ).all()
    assert [(n.target, n.request_id) for n in told] == [("shop_database", None)]


def test_what_systems_gave_goes_with_an_erasure_even_under_a_legal_hold(
    app: FastAPI, client: TestClient, auth: Headers
) -> None:
    """The order's invoice keeps the subject's key (a legal hold), but no hold covers what a
    system posted, its free-text note or the events that carry the address."""
    subject_id = _customer_with_order(client, auth)
    access = verified_request(app, GRACE_ORDER["data"]["email"], kind="access")
    token = callback_token(SECRET, access, "shop_database")
    client.post(
        f"/api/v1/requests/{access}/systems/shop_database/data",
        json={"data": {"wishlist": ["CL390"]}},
        headers={"Authorization": f"Bearer {token}"},
    )
    note = "sent everything we hold on grace.hopper@example.org"
    answered = client.post(
        f"/api/v1/requests/{access}/systems/shop_database",
        json={"status": "done", "note": note},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answered.status_code == 200
    with app.state.sessions() as session:
        [part] = session.scalars(select(RequestSystem).where(RequestSystem.request_id == access))
        assert part.note is not None
        assert "grace" not in part.note  # sealed, not plaintext

    erasure = verified_request(app, GRACE_ORDER["data"]["email"], kind="erasure")
    assert (
        client.post(f"/api/v1/requests/{erasure}/approve", headers=auth("dpo")).status_code == 200
    )

    with app.state.sessions() as session:
        [part] = session.scalars(select(RequestSystem).where(RequestSystem.request_id == access))
        assert (part.data_sealed, part.note) == (None, None)
        held = session.get(Subject, subject_id)
        assert held is not None
        assert held.erased_at is None  # the invoice's hold kept the subject (and its key)
        queued = session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.payload["subject_id"].as_string() == subject_id
            )
        ).all()
    assert queued == []
