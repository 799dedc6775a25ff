"""`/staff/mail`, the embedded outbox: staff never see a live token, except in the demo."""

from __future__ import annotations

import re
from collections.abc import Iterator
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from sqlalchemy import Engine

from schutz.config import Settings
from schutz.db import make_session_factory
from schutz.web.app import create_app
from schutz.web.routes.staff_paper import hide_link_tokens
from schutz.worker import run_once
from webapp import TestClient, close_app, form_token_in, sign_in_staff

ADDRESS = "ada@example.org"
LINK_TOKEN = re.compile(r"\?token=([^\s&<>\"']+)")


@pytest.fixture(params=[False, True], ids=["installation", "demo"])
def demo(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


@pytest.fixture
def client(settings: Settings, demo: bool) -> Iterator[TestClient]:
    app = create_app(settings.model_copy(update={"demo": demo}))
    try:
        with TestClient(app, follow_redirects=False) as test_client:
            yield test_client
    finally:
        close_app(app)


def mail_with_links(client: TestClient, engine: Engine, settings: Settings) -> None:
    """A newsletter confirmation and a privacy-centre sign-in link, written to the outbox."""
    page = client.get("/newsletter")
    client.post("/newsletter", data={"email": ADDRESS, "form_token": form_token_in(page.text)})
    run_once(make_session_factory(engine), settings)
    page = client.get("/account")
    client.post("/account/login", data={"email": ADDRESS, "form_token": form_token_in(page.text)})
    run_once(make_session_factory(engine), settings)


def tokens_in_outbox(outbox: Path) -> set[str]:
    found: set[str] = set()
    for path in outbox.glob("*.eml"):
        mail = message_from_bytes(path.read_bytes(), policy=policy.default)
        body = mail.get_body(preferencelist=("plain",))
        text = f"{body.get_content() if body else ''} {mail['List-Unsubscribe'] or ''}"
        found |= set(LINK_TOKEN.findall(text))
    return found


def opened_mails(client: TestClient) -> str:
    listing = client.get("/staff/mail")
    assert listing.status_code == 200
    ids = re.findall(r'href="/staff/mail/([0-9a-f]{32})', listing.text)
    assert len(ids) >= 2
    return "".join(client.get(f"/staff/mail/{mail_id}").text for mail_id in ids)


def test_staff_see_sent_mail_with_live_tokens_only_in_the_demo(
    client: TestClient, engine: Engine, settings: Settings, demo: bool
) -> None:
    mail_with_links(client, engine, settings)
    tokens = tokens_in_outbox(settings.outbox_dir)
    assert len(tokens) == 2  # newsletter confirmation, privacy-centre sign-in
    sign_in_staff(client, engine, "support")
    pages = opened_mails(client)
    shown = {token for token in tokens if token in pages}
    if demo:
        assert shown == tokens
        assert '<a href="http://127.0.0.1:8000/newsletter/confirm?token=' in pages
        assert '<a href="http://127.0.0.1:8000/account/login?token=' in pages
    else:
        assert shown == set()
        assert "/newsletter/confirm?token=[hidden]" in pages
        assert "/account/login?token=[hidden]" in pages
        assert 'href="http://127.0.0.1:8000/account/login' not in pages


def test_the_outbox_page_opens_no_other_file(
    client: TestClient, engine: Engine, settings: Settings
) -> None:
    sign_in_staff(client, engine, "support")
    assert client.get("/staff/mail/../../etc").status_code == 404
    assert client.get("/staff/mail/" + "0" * 32).status_code == 404


@pytest.mark.parametrize(
    ("shown", "hidden"),
    [
        ("<https://shop.example/newsletter/unsubscribe?token=abc.def-_>",
         "<https://shop.example/newsletter/unsubscribe?token=[hidden]>"),
        ("https://shop.example/requests/verify?token=a%3Db&lang=de",
         "https://shop.example/requests/verify?token=[hidden]&lang=de"),
        ("https://shop.example/x?lang=de&TOKEN=abc#top", "https://shop.example/x?lang=de&TOKEN=[hidden]#top"),
        ("https://shop.example/privacy?lang=de", "https://shop.example/privacy?lang=de"),
    ],
)  # fmt: skip
def test_credentials_in_links_are_hidden(shown: str, hidden: str) -> None:
    assert hide_link_tokens(shown) == hidden
