"""A running instance after `schutz secret rotate`: mailed links work through the grace only."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine

from schutz.clock import utcnow
from schutz.config import Settings
from schutz.db import make_session_factory
from schutz.identity.signing_secrets import rotate
from webapp import TestClient, deliver, delivered_to, form_token_in, token_in

ADDRESS = "ada@example.org"


def confirmation_token(client: TestClient, engine: Engine, settings: Settings) -> str:
    page = client.get("/newsletter")
    client.post("/newsletter", data={"email": ADDRESS, "form_token": form_token_in(page.text)})
    deliver(make_session_factory(engine), settings)
    [(_, body)] = delivered_to(settings, ADDRESS)
    return token_in(body, "/newsletter/confirm")


def test_a_link_mailed_before_a_rotation_works_during_the_grace(
    client: TestClient, engine: Engine, settings: Settings
) -> None:
    token = confirmation_token(client, engine, settings)
    rotate(settings.data_dir, grace=timedelta(days=7), now=utcnow())
    assert client.get("/newsletter/confirm", params={"token": token}).status_code == 200
    assert client.post("/newsletter/confirm", params={"token": token}).status_code == 200


def test_a_link_mailed_before_a_rotation_stops_when_the_grace_ends(
    client: TestClient, engine: Engine, settings: Settings
) -> None:
    token = confirmation_token(client, engine, settings)
    rotate(settings.data_dir, grace=timedelta(0), now=utcnow())
    assert client.get("/newsletter/confirm", params={"token": token}).status_code == 400


def test_forms_served_after_a_rotation_carry_tokens_of_the_new_secret(
    client: TestClient, engine: Engine, settings: Settings
) -> None:
    rotate(settings.data_dir, grace=timedelta(0), now=utcnow())
    page = client.get("/newsletter")
    answer = client.post(
        "/newsletter", data={"email": ADDRESS, "form_token": form_token_in(page.text)}
    )
    assert answer.status_code == 200
    deliver(make_session_factory(engine), settings)
    [(_, body)] = delivered_to(settings, ADDRESS)
    token = token_in(body, "/newsletter/confirm")
    assert client.get("/newsletter/confirm", params={"token": token}).status_code == 200
