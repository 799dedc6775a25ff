"""Links over HTTP: a verification link confirms once, a download dies with its session, and
the public forms answer alike for known and unknown people (the look-up runs later)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from records import api_customer
from schutz.config import Settings
from schutz.consent.models import ConsentEvent
from schutz.db import Base
from webapp import (
    Headers,
    TestClient,
    csrf_in,
    deliver,
    delivered_to,
    form_token_in,
    token_in,
)

ADA = {"email": "ada.lovelace@example.org", "name": "Ada Lovelace",
       "postal_address": {"street": "Hansaallee 299", "postal_code": "40549",
                          "city": "Düsseldorf", "country": "DE"}}  # fmt: skip
NOBODY = "nobody.known@example.org"
VOLATILE_HEADERS = {"date", "x-request-id"}


@pytest.fixture
def follow_redirects() -> bool:
    return False


def _customer(client: TestClient, auth: Headers) -> None:
    api_customer(client, auth, ADA, source="registration", purposes=["information_access"])


def _run_worker(client: TestClient) -> None:
    app: Any = client.app
    deliver(app.state.sessions, app.state.settings)


def _sign_in(client: TestClient, settings: Settings) -> str:
    login = client.get("/account")
    client.post(
        "/account/login", data={"email": ADA["email"], "form_token": form_token_in(login.text)}
    )
    _run_worker(client)
    _, body = delivered_to(settings, str(ADA["email"]))[-1]
    opened = client.post("/account/open", data={"token": token_in(body, "/account/login")})
    assert opened.status_code == 303
    return csrf_in(client.get("/account").text)


# The rate-limit bucket is keyed by the client's network, never by an address: the first
# request of a network creates it whatever address the form carried.
PER_NETWORK = frozenset({"rate_bucket"})


def _row_counts(engine: Engine) -> dict[str, int]:
    with Session(engine) as session:
        return {
            t.name: int(session.scalar(select(func.count()).select_from(t)) or 0)
            for t in Base.metadata.sorted_tables
            if t.name not in PER_NETWORK
        }


def _written(engine: Engine, before: dict[str, int]) -> dict[str, int]:
    after = _row_counts(engine)
    return {name: after[name] - before[name] for name in after if after[name] != before[name]}


def _comparable(response: Any, drop: tuple[str, ...] = ()) -> tuple[int, Any, dict[str, str]]:
    headers = {k: v for k, v in response.headers.items() if k not in VOLATILE_HEADERS}
    if drop:
        body = {k: v for k, v in response.json().items() if k not in drop}
        headers.pop("content-length", None)  # the ids differ in length only by chance
        return response.status_code, body, headers
    return response.status_code, response.text, headers


def _answer_for(engine: Engine, send: Any, email: str, **drop: Any) -> tuple[Any, dict[str, int]]:
    before = _row_counts(engine)
    response = send(email)
    return _comparable(response, **drop), _written(engine, before)


def test_account_login_answers_alike_for_known_and_unknown(
    client: TestClient, auth: Headers, engine: Engine, settings: Settings
) -> None:
    _customer(client, auth)

    def send(email: str) -> Any:
        token = form_token_in(client.get("/account").text)
        return client.post("/account/login", data={"email": email, "form_token": token})

    known = _answer_for(engine, send, str(ADA["email"]))
    unknown = _answer_for(engine, send, NOBODY)

    assert known == unknown
    assert known[0][0] == 200
    assert known[1] == {"pending_lookup": 1}
    _run_worker(client)
    assert len(delivered_to(settings, str(ADA["email"]))) == 1
    assert delivered_to(settings, NOBODY) == []
    assert _row_counts(engine)["pending_lookup"] == 0


def test_request_form_answers_alike_for_known_and_unknown(
    client: TestClient, auth: Headers, engine: Engine, settings: Settings
) -> None:
    _customer(client, auth)

    def send(email: str) -> Any:
        token = form_token_in(client.get("/requests/new").text)
        return client.post(
            "/requests/new",
            data={"kind": "access", "email": email, "details": "x", "form_token": token},
        )

    known = _answer_for(engine, send, str(ADA["email"]))
    unknown = _answer_for(engine, send, NOBODY)

    assert known == unknown
    _run_worker(client)
    assert len(delivered_to(settings, str(ADA["email"]))) == 1
    assert len(delivered_to(settings, NOBODY)) == 1


def test_request_api_answers_alike_for_known_and_unknown(
    client: TestClient, auth: Headers, engine: Engine, settings: Settings
) -> None:
    _customer(client, auth)
    shop = auth("shop")

    def send(email: str) -> Any:
        return client.post("/api/v1/requests", json={"kind": "access", "email": email},
                           headers=shop)  # fmt: skip

    known = _answer_for(engine, send, str(ADA["email"]), drop=("request_id", "due_at"))
    unknown = _answer_for(engine, send, NOBODY, drop=("request_id", "due_at"))

    assert known == unknown
    assert known[0][0] == 202
    _run_worker(client)
    assert len(delivered_to(settings, str(ADA["email"]))) == 1
    assert len(delivered_to(settings, NOBODY)) == 1


def test_newsletter_sign_up_answers_alike_for_known_and_unknown(
    client: TestClient, auth: Headers, engine: Engine, settings: Settings
) -> None:
    _customer(client, auth)

    def send(email: str) -> Any:
        token = form_token_in(client.get("/newsletter").text)
        return client.post("/newsletter", data={"email": email, "form_token": token})

    known = _answer_for(engine, send, str(ADA["email"]))
    unknown = _answer_for(engine, send, NOBODY)

    assert known == unknown
    assert known[1] == {"pending_lookup": 1}
    _run_worker(client)
    assert len(delivered_to(settings, str(ADA["email"]))) == 1
    assert len(delivered_to(settings, NOBODY)) == 1


def test_verification_link_is_single_use(
    client: TestClient, auth: Headers, settings: Settings
) -> None:
    _customer(client, auth)
    client.post(
        "/api/v1/requests", json={"kind": "access", "email": ADA["email"]}, headers=auth("shop")
    )
    _run_worker(client)
    _, body = delivered_to(settings, str(ADA["email"]))[-1]
    token = token_in(body, "/requests/verify")

    first = client.post("/requests/verify", params={"token": token})
    assert first.status_code == 200
    assert "/requests/export?token=" in first.text

    again = client.get("/requests/verify", params={"token": token})
    assert again.status_code == 409
    assert "Already confirmed" in again.text
    assert "/requests/export" not in again.text
    repeat = client.post("/requests/verify", params={"token": token})
    assert repeat.status_code == 409
    assert "/requests/export" not in repeat.text
    _run_worker(client)
    exports = [b for _, b in delivered_to(settings, str(ADA["email"])) if "/requests/export" in b]
    assert len(exports) == 1
    assert "one hour" in exports[0]


def test_export_link_dies_on_sign_out(
    client: TestClient, auth: Headers, settings: Settings
) -> None:
    _customer(client, auth)
    csrf = _sign_in(client, settings)
    made = client.post("/account/export", data={"csrf_token": csrf})
    assert made.status_code == 303
    link = made.headers["location"]
    assert link.startswith("/account/export?token=")
    page = client.get(link)
    assert page.status_code == 200
    assert "Düsseldorf" in page.text
    json_link = link.replace("/account/export?", "/account/export.json?")
    assert client.get(json_link).json()["personal_data"]

    client.post("/account/logout", data={"csrf_token": csrf})

    assert client.get(link).status_code == 410
    assert client.get(json_link).status_code == 410
    _sign_in(client, settings)  # a new session does not revive the old one's link
    assert client.get(link).status_code == 410


def test_export_link_works_only_with_the_session_that_made_it(
    app: FastAPI, client: TestClient, auth: Headers, settings: Settings
) -> None:
    _customer(client, auth)
    csrf = _sign_in(client, settings)
    link = client.post("/account/export", data={"csrf_token": csrf}).headers["location"]

    with TestClient(app, follow_redirects=False) as other:
        assert other.get(link).status_code == 410  # no session at all
        _sign_in(other, settings)  # the same person, another session
        assert other.get(link).status_code == 410
    token = link.split("token=", 1)[1].split("&", 1)[0]
    assert client.get("/requests/export", params={"token": token}).status_code == 400
    assert client.get(link).status_code == 200


def test_newsletter_proof_keeps_the_address_the_trusted_proxy_saw(
    app: FastAPI, engine: Engine
) -> None:
    with TestClient(app, client=("127.0.0.1", 50000)) as behind_proxy:
        form = behind_proxy.get("/newsletter")
        answer = behind_proxy.post(
            "/newsletter",
            data={"email": "reader@example.org", "form_token": form_token_in(form.text)},
            headers={"X-Forwarded-For": "198.51.100.7, 203.0.113.77"},
        )
        assert answer.status_code == 200
        _run_worker(behind_proxy)
    with Session(engine) as session:
        [grant] = session.scalars(select(ConsentEvent)).all()
    assert grant.ip_truncated == "203.0.113.0"


def test_a_download_from_the_centre_mails_no_link_that_outlives_the_session(
    client: TestClient, auth: Headers, settings: Settings
) -> None:
    _customer(client, auth)
    csrf = _sign_in(client, settings)

    assert client.post("/account/export", data={"csrf_token": csrf}).status_code == 303

    _run_worker(client)
    mailed = [b for _, b in delivered_to(settings, str(ADA["email"])) if "/export" in b]
    assert mailed == []


def test_another_site_cannot_sign_a_browser_into_a_centre(
    client: TestClient, auth: Headers, settings: Settings
) -> None:
    """Login CSRF: a page elsewhere posting the attacker's own sign-in link must not leave
    the visitor's browser signed in to the attacker's privacy centre."""
    _customer(client, auth)
    login = client.get("/account")
    client.post(
        "/account/login", data={"email": ADA["email"], "form_token": form_token_in(login.text)}
    )
    _run_worker(client)
    _, body = delivered_to(settings, str(ADA["email"]))[-1]
    token = token_in(body, "/account/login")
    for headers in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
        refused = client.post("/account/open", data={"token": token}, headers=headers)
        assert refused.status_code == 403
        assert "schutz_account" not in refused.headers.get("set-cookie", "")
    # The link is not spent by the refusal: its owner still opens the centre with it.
    opened = client.post("/account/open", data={"token": token})
    assert opened.status_code == 303
