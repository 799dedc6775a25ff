"""Journeys over HTTP, on SQLite and PostgreSQL: double opt-in to one-click unsubscribe, with
mail leaving as .eml files and through a real SMTP server; a faxed objection taking effect."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from email import message_from_bytes
from email import policy as email_policy
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from live import free_port
from schutz.audit.models import AuditEntry
from schutz.audit.service import verify
from schutz.config import Settings
from schutz.consent.models import ConsentEvent
from schutz.db import make_session_factory
from schutz.web.app import create_app
from schutz.worker import run_once
from webapp import Headers, TestClient, api_keys, sign_in_staff

ADDRESS = "ada.lovelace@example.org"


class Inbox:
    """An aiosmtpd handler that keeps every message."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's hook name.
        raw = bytes(envelope.original_content)
        self.messages.append(message_from_bytes(raw, policy=email_policy.default))
        return "250 OK"


@pytest.fixture(params=["eml", "smtp"])
def delivery(
    request: pytest.FixtureRequest, settings: Settings
) -> Iterator[tuple[Settings, Inbox | None]]:
    if request.param == "eml":
        yield settings, None
        return
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield settings.model_copy(update={"smtp_url": f"smtp://127.0.0.1:{port}"}), inbox
    finally:
        controller.stop()


def delivered(settings: Settings, inbox: Inbox | None, engine: Engine) -> list[EmailMessage]:
    """Run the outbox worker once; return every message delivered so far, oldest first."""
    run_once(make_session_factory(engine), settings)
    if inbox is not None:
        return list(inbox.messages)
    files = sorted(settings.outbox_dir.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns)
    return [message_from_bytes(p.read_bytes(), policy=email_policy.default) for p in files]


def link(message: EmailMessage, path: str) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    url = next(w for w in body.get_content().split() if path in w)
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def audience(client: TestClient, auth: Headers, purpose: str) -> list[dict[str, str]]:
    answer = client.get(f"/api/v1/audiences/{purpose}", headers=auth("marketing"))
    assert answer.status_code == 200
    return [json.loads(line) for line in answer.text.splitlines()]


def ledger(engine: Engine) -> list[tuple[str, str, str]]:
    with Session(engine) as session:
        return [
            (e.purpose, e.action, e.channel)
            for e in session.scalars(select(ConsentEvent).order_by(ConsentEvent.id))
        ]


def audit_actions(engine: Engine) -> list[str]:
    with Session(engine) as session:
        assert verify(session).ok
        return list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)))


def test_double_opt_in_to_one_click_unsubscribe(
    delivery: tuple[Settings, Inbox | None], engine: Engine
) -> None:
    settings, inbox = delivery
    app = create_app(settings)
    auth = api_keys(engine)
    with TestClient(app) as client:
        page = client.get("/newsletter")
        token = re.search(r'name="form_token" value="([^"]+)"', page.text)
        assert token is not None
        signed = client.post("/newsletter", data={"email": ADDRESS, "form_token": token.group(1)})
        assert signed.status_code == 200

        [confirmation] = delivered(settings, inbox, engine)
        assert confirmation["To"] == ADDRESS
        assert "List-Unsubscribe" not in confirmation
        assert audience(client, auth, "newsletter") == []

        confirm_url = link(confirmation, "/newsletter/confirm")
        assert client.get(confirm_url).status_code == 200
        assert client.post(confirm_url).status_code == 200
        assert client.post(confirm_url).status_code == 409  # a second confirm changes nothing
        [member] = audience(client, auth, "newsletter")
        assert member["email"] == ADDRESS

        issue = client.post("/api/v1/newsletter/issues", json={"subject": "Autumn news",
                            "body": "New phones."}, headers=auth("marketing"))  # fmt: skip
        assert (issue.status_code, issue.json()["recipients"]) == (202, 1)
        newsletter = delivered(settings, inbox, engine)[-1]
        assert newsletter["Subject"] == "Autumn news"
        header = newsletter["List-Unsubscribe"]
        assert re.fullmatch(r"<http://127\.0\.0\.1:8000/newsletter/unsubscribe\?token=\S+>", header)
        assert newsletter["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

        client.cookies.clear()
        one_click = urlsplit(header.strip("<>"))
        answer = client.post(
            f"{one_click.path}?{one_click.query}",
            content=b"List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            follow_redirects=False,
        )
        assert answer.status_code == 200
        assert audience(client, auth, "newsletter") == []
    app.state.engine.dispose()

    assert ledger(engine) == [
        ("newsletter", "grant", "web"),
        ("newsletter", "confirm", "web"),
        ("newsletter", "withdraw", "web"),
    ]
    actions = audit_actions(engine)
    for step in ("vault.intake", "consent.grant", "consent.confirm", "vault.read",
                 "newsletter.issue", "consent.withdraw"):  # fmt: skip
        assert step in actions


def test_fax_objection_leaves_the_direct_marketing_audience_at_once(
    settings: Settings, engine: Engine
) -> None:
    app = create_app(settings)
    auth = api_keys(engine)
    with TestClient(app, follow_redirects=False) as client:
        body = {"source": "registration", "purposes": ["direct_marketing"],
                "data": {"email": ADDRESS, "name": "Ada Lovelace"}}  # fmt: skip
        subject_id = client.post("/api/v1/subjects", json=body, headers=auth("shop")).json()[
            "subject_id"
        ]
        assert [m["subject_id"] for m in audience(client, auth, "direct_marketing")] == [subject_id]

        csrf = sign_in_staff(client, engine, "support")
        answer = client.post(
            "/staff/objections",
            data={"csrf_token": csrf, "email": ADDRESS, "channel": "fax",
                  "evidence": "FAX-0815", "purposes": ["direct_marketing"]},
        )  # fmt: skip
        assert answer.status_code == 200

        assert audience(client, auth, "direct_marketing") == []
    app.state.engine.dispose()
    assert ledger(engine) == [("direct_marketing", "object", "fax")]
    assert "consent.object" in audit_actions(engine)


def test_fax_objection_blocks_marketing_reads_at_once(settings: Settings, engine: Engine) -> None:
    app = create_app(settings)
    auth = api_keys(engine)
    with TestClient(app) as client:
        body = {"source": "registration", "purposes": ["direct_marketing"],
                "data": {"email": ADDRESS}}  # fmt: skip
        subject_id = client.post("/api/v1/subjects", json=body, headers=auth("shop")).json()[
            "subject_id"
        ]
        read = f"/api/v1/subjects/{subject_id}?purpose=direct_marketing"
        assert client.get(read, headers=auth("marketing")).status_code == 200
        client.post("/api/v1/consents", json={"subject_id": subject_id, "purpose":
                    "direct_marketing", "action": "object", "channel": "fax",
                    "evidence": "FAX-1"}, headers=auth("support"))  # fmt: skip
        refused = client.get(read, headers=auth("marketing"))
    app.state.engine.dispose()
    assert refused.status_code == 403
    assert refused.json()["rule"] == "objected"


def test_gpc_signal_is_recorded_as_objection(session: Session) -> None:
    from schutz.clock import utcnow
    from schutz.config import BUNDLED_POLICY_DIR
    from schutz.policy.loader import load_policy_set
    from schutz.web.privacy_signals import record_signal_objection

    policy = load_policy_set(BUNDLED_POLICY_DIR).latest
    record_signal_objection(session, policy, "s-gpc", "gpc", actor="subject", now=utcnow())
    session.commit()
    assert {(e.purpose, e.channel) for e in session.scalars(select(ConsentEvent))} == {
        ("web_analytics", "gpc"),
        ("direct_marketing", "gpc"),
    }
