"""Newsletter pages over HTTP: sign-up without cookies, confirm, unsubscribe (RFC 8058)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from outbox_mail import QueuedMail, queued_mails
from schutz.config import Settings
from schutz.consent.models import ConsentEvent
from webapp import Headers, TestClient, deliver


def form_token(html: str) -> str:
    match = re.search(r'name="form_token" value="([^"]+)"', html)
    assert match is not None
    return match.group(1)


def sign_up(client: TestClient, email: str, lang: str = "en") -> None:
    page = client.get(f"/newsletter?lang={lang}")
    answer = client.post(
        f"/newsletter?lang={lang}", data={"email": email, "form_token": form_token(page.text)}
    )
    assert answer.status_code == 200, answer.text
    run_worker(client)


def run_worker(client: TestClient) -> None:
    """The worker's pass: the sign-up's intake, grant and mail happen there, after the answer."""
    app: Any = client.app
    deliver(app.state.sessions, app.state.settings)


def events(engine: Engine) -> list[ConsentEvent]:
    with Session(engine) as session:
        return list(session.scalars(select(ConsentEvent).order_by(ConsentEvent.id)))


@pytest.fixture
def mails(settings: Settings) -> Callable[[], list[QueuedMail]]:
    """The queued mails, opened as the deliverer opens them."""
    return lambda: queued_mails(settings.resolved_database_url, settings.data_dir)


def token_in(text: str, path: str) -> str:
    url = next(w for w in text.split() if path in w).strip("<>")
    return parse_qs(urlsplit(url).query)["token"][0]


def test_sign_up_needs_no_cookie_and_sets_none(
    mails: Callable[[], list[QueuedMail]], client: TestClient, engine: Engine
) -> None:
    page = client.get("/newsletter")
    assert "set-cookie" not in page.headers
    assert 'type="email"' in page.text
    assert "name=" not in page.text.split('name="email"')[1].split("</form>")[0].replace(
        'name="form_token"', ""
    )  # the e-mail address is the only field a visitor fills in (C18)
    answer = client.post(
        "/newsletter", data={"email": "ada@example.org", "form_token": form_token(page.text)}
    )
    assert answer.status_code == 200
    assert "set-cookie" not in answer.headers
    assert "ada@example.org" not in answer.text
    run_worker(client)
    [grant] = events(engine)
    assert grant.action == "grant"
    [mail] = mails()
    assert "/newsletter/confirm?token=" in mail.payload["body"]


def test_confirm_link_shows_a_button_and_post_confirms_once(
    mails: Callable[[], list[QueuedMail]], client: TestClient, engine: Engine
) -> None:
    sign_up(client, "ada@example.org")
    token = token_in(mails()[0].payload["body"], "/newsletter/confirm")

    page = client.get("/newsletter/confirm", params={"token": token})
    assert page.status_code == 200
    assert [e.action for e in events(engine)] == ["grant"]  # a GET changes nothing
    done = client.post("/newsletter/confirm", params={"token": token})
    assert done.status_code == 200
    again = client.post("/newsletter/confirm", params={"token": token})
    assert again.status_code == 409
    assert "already confirmed" in again.text
    assert [e.action for e in events(engine)] == ["grant", "confirm"]
    assert events(engine)[1].evidence.startswith("token:")  # type: ignore[union-attr]


@pytest.mark.parametrize("token", ["", "garbage", "eyJzIjoiYSIsImciOjF9.aaaaaa.bbbbbbbb"])
def test_forged_links_get_a_clear_page_and_change_nothing(
    client: TestClient, engine: Engine, token: str
) -> None:
    for path in ("/newsletter/confirm", "/newsletter/unsubscribe"):
        assert client.get(path, params={"token": token}).status_code == 400
        answer = client.post(path, params={"token": token})
        assert answer.status_code == 400
        assert "not valid" in answer.text
    assert events(engine) == []


def test_malformed_address_and_expired_form_change_nothing(
    mails: Callable[[], list[QueuedMail]], client: TestClient, engine: Engine
) -> None:
    page = client.get("/newsletter")
    bad = client.post(
        "/newsletter", data={"email": "no-at-sign", "form_token": form_token(page.text)}
    )
    assert bad.status_code == 422
    assert "not a valid e-mail address" in bad.text
    forged = client.post("/newsletter", data={"email": "ada@example.org", "form_token": "x"})
    assert forged.status_code == 400
    assert events(engine) == []
    assert mails() == []


def test_german_confirmation_mail_and_pages(
    mails: Callable[[], list[QueuedMail]], client: TestClient, engine: Engine
) -> None:
    sign_up(client, "ada@example.org", lang="de")
    mail = mails()[0]
    assert mail.payload["subject"].startswith("Bitte bestätigen")
    assert "&lang=de" in mail.payload["body"]
    page = client.get("/newsletter?lang=de")
    assert "Abonnieren" in page.text


def test_issue_needs_the_marketing_role(client: TestClient, auth: Headers) -> None:
    issue = {"subject": "News", "body": "Hello"}
    assert client.post("/api/v1/newsletter/issues", json=issue).status_code == 401
    assert (
        client.post("/api/v1/newsletter/issues", json=issue, headers=auth("shop")).status_code
        == 403
    )
    answer = client.post("/api/v1/newsletter/issues", json=issue, headers=auth("marketing"))
    assert answer.status_code == 202
    assert answer.json()["recipients"] == 0


def test_one_click_post_unsubscribes_without_cookie_or_redirect(
    mails: Callable[[], list[QueuedMail]], client: TestClient, engine: Engine, auth: Headers
) -> None:
    sign_up(client, "ada@example.org")
    token = token_in(mails()[0].payload["body"], "/newsletter/confirm")
    client.post("/newsletter/confirm", params={"token": token})
    sent = client.post(
        "/api/v1/newsletter/issues",
        json={"subject": "News", "body": "Hi"},
        headers=auth("marketing"),
    )
    assert sent.json()["recipients"] == 1
    issue = mails()[-1]
    header = issue.payload["headers"]["List-Unsubscribe"]
    assert issue.payload["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = urlsplit(header.strip("<>"))
    client.cookies.clear()

    answer = client.post(
        f"{url.path}?{url.query}",
        content="List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )
    assert answer.status_code == 200
    assert [e.action for e in events(engine)] == ["grant", "confirm", "withdraw"]
    assert "one-click" in (events(engine)[-1].evidence or "")
    page = client.get(f"{url.path}?{url.query}")
    assert page.status_code == 200
    assert "<form" in page.text
