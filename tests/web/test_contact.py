"""`/contact`: a question reaches support, an objection reaches the ledger, and the answer
never tells whether an address is known."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from outbox_mail import queued_mails
from schutz.config import Settings
from schutz.consent.models import ConsentEvent
from schutz.mail.models import OutboxMessage
from schutz.subject_requests.models import DataRequest, PendingLookup
from webapp import Headers, TestClient, deliver


def send(client: TestClient, **fields: str) -> tuple[int, str]:
    page = client.get("/contact")
    token = re.search(r'name="form_token" value="([^"]+)"', page.text)
    assert token is not None
    answer = client.post("/contact", data={"form_token": token.group(1), **fields})
    return answer.status_code, answer.text


def rows(engine: Engine, model: type) -> list[Any]:
    with Session(engine) as session:
        return list(session.scalars(select(model)))


def test_objection_reaches_the_ledger_and_answers_like_an_unknown_address(
    client: TestClient, auth: Headers, engine: Engine
) -> None:
    body = {"source": "registration", "purposes": ["direct_marketing"],
            "data": {"email": "known@example.org"}}  # fmt: skip
    client.post("/api/v1/subjects", json=body, headers=auth("shop"))

    known = send(client, kind="object_marketing", email="known@example.org")
    unknown = send(client, kind="object_marketing", email="unknown@example.org")

    assert known == unknown
    assert known[0] == 200
    # Both answers did the same work: one sealed job each, no look-up yet.
    assert len(rows(engine, PendingLookup)) == 2
    assert rows(engine, ConsentEvent) == []
    app = client.app  # the worker matches the address and records the objection
    deliver(app.state.sessions, app.state.settings)  # type: ignore[attr-defined]
    assert rows(engine, PendingLookup) == []
    [event] = rows(engine, ConsentEvent)
    assert (event.action, event.channel, event.purpose) == ("object", "web", "direct_marketing")


def test_question_goes_to_support_through_the_outbox_sealed_under_the_senders_key(
    client: TestClient, engine: Engine, settings: Settings
) -> None:
    status, _ = send(client, kind="question", email="ada@example.org", name="Ada",
                        message="Where is my order?")  # fmt: skip
    assert status == 200
    [row] = rows(engine, OutboxMessage)
    assert set(row.payload) == {"sealed", "subject_id"}
    [mail] = queued_mails(settings.resolved_database_url, settings.data_dir)
    assert "Where is my order?" in mail.payload["body"]
    assert mail.payload["headers"]["Reply-To"] == "ada@example.org"
    assert "ada@example.org" not in mail.payload["subject"]


def test_data_request_enters_the_request_workflow_and_mails_only_that_address(
    client: TestClient, engine: Engine, settings: Settings
) -> None:
    status, text = send(client, kind="request_access", email="ada@example.org")
    assert status == 200
    assert "confirm" in text
    [request] = rows(engine, DataRequest)
    assert (request.kind, request.channel, request.status) == (
        "access", "web", "awaiting_verification"
    )  # fmt: skip
    app = client.app  # the look-up and the mail run in the worker
    deliver(app.state.sessions, app.state.settings)  # type: ignore[attr-defined]
    [mail] = queued_mails(settings.resolved_database_url, settings.data_dir)
    assert mail.payload["to"] == "ada@example.org"
    assert "/requests/verify?token=" in mail.payload["body"]


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({"kind": "question", "email": "not an address", "message": "x"}, 422),
        ({"kind": "question", "email": "a@example.org", "message": "  "}, 422),
        ({"kind": "bribe", "email": "a@example.org", "message": "x"}, 422),
    ],
)
def test_bad_input_changes_nothing(
    client: TestClient, engine: Engine, fields: dict[str, str], status: int
) -> None:
    assert send(client, **fields)[0] == status
    assert client.post("/contact", data={**fields, "form_token": "forged"}).status_code == 400
    assert rows(engine, OutboxMessage) == []
    assert rows(engine, ConsentEvent) == []


def test_the_form_sets_no_cookie(client: TestClient) -> None:
    assert "set-cookie" not in client.get("/contact").headers
