"""The privacy centre: magic-link sign-in, data shown, switches in the ledger, self-service."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from records import api_customer
from schutz.clock import utcnow
from schutz.config import Settings
from schutz.consent.service import ConsentState, current_state, record_consent, subject_state
from schutz.policy.loader import load_policy_set
from schutz.subject_requests.models import AccountToken
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


@pytest.fixture
def follow_redirects() -> bool:
    return False


def sign_in(client: TestClient, settings: Settings, email: str) -> str:
    login = client.get("/account")
    sent = client.post(
        "/account/login", data={"email": email, "form_token": form_token_in(login.text)}
    )
    assert sent.status_code == 200
    deliver(client.app.state.sessions, settings)  # type: ignore[attr-defined]
    _, body = delivered_to(settings, email)[-1]
    token = token_in(body, "/account/login")
    button = client.get("/account/login", params={"token": token})
    assert "Open my privacy centre" in button.text
    opened = client.post("/account/open", data={"token": token})
    assert opened.status_code == 303
    cookie = opened.headers["set-cookie"]
    assert cookie.startswith("schutz_account=")
    assert "HttpOnly" in cookie
    assert "Path=/account" in cookie
    assert "samesite=lax" in cookie.lower()
    centre = client.get("/account")
    assert centre.status_code == 200
    return csrf_in(centre.text)


def _customer(client: TestClient, auth: Headers) -> str:
    purposes = ["information_access", "direct_marketing"]
    return api_customer(client, auth, ADA, source="registration", purposes=purposes)


def test_an_unknown_address_gets_the_same_page_and_no_mail(
    client: TestClient, settings: Settings
) -> None:
    login = client.get("/account")
    page = client.post(
        "/account/login",
        data={"email": "nobody@example.org", "form_token": form_token_in(login.text)},
    )
    assert page.status_code == 200
    assert "If we hold data for this address" in page.text
    deliver(client.app.state.sessions, settings)  # type: ignore[attr-defined]
    assert delivered_to(settings, "nobody@example.org") == []


def test_the_centre_shows_the_data_and_a_link_works_once(
    client: TestClient, auth: Headers, settings: Settings
) -> None:
    _customer(client, auth)
    sign_in(client, settings, str(ADA["email"]))

    page = client.get("/account", params={"lang": "de"})
    assert "Düsseldorf" in page.text
    assert "Datenschutz-Center" in page.text
    _, body = delivered_to(settings, str(ADA["email"]))[-1]
    again = client.post("/account/open", data={"token": token_in(body, "/account/login")})
    assert again.status_code == 410


def test_switching_marketing_off_records_an_objection(
    client: TestClient, auth: Headers, settings: Settings, session: Session
) -> None:
    subject_id = _customer(client, auth)
    csrf = sign_in(client, settings, str(ADA["email"]))

    off = client.post(
        "/account/consents", data={"csrf_token": csrf, "purpose": "direct_marketing", "on": "0"}
    )
    assert off.status_code == 303
    policy = load_policy_set(settings.policy).in_force(utcnow().date())
    assert current_state(session, policy, subject_id)["direct_marketing"] is ConsentState.OBJECTED
    forged = client.post(
        "/account/consents", data={"csrf_token": "x", "purpose": "direct_marketing", "on": "1"}
    )
    assert forged.status_code == 403


def test_self_service_rectification_and_export(
    client: TestClient, auth: Headers, settings: Settings
) -> None:
    _customer(client, auth)
    csrf = sign_in(client, settings, str(ADA["email"]))

    changed = client.post(
        "/account/rectify", data={"csrf_token": csrf, "postal_address.city": "Köln"}
    )
    assert "done=rectified" in changed.headers["location"]
    export = client.post("/account/export", data={"csrf_token": csrf})
    assert export.status_code == 303
    page = client.get(export.headers["location"])
    assert page.status_code == 200
    assert "Köln" in page.text
    centre = client.get("/account")
    assert "completed" in centre.text


def test_without_a_session_actions_are_refused(client: TestClient) -> None:
    refused = client.post("/account/export", data={"csrf_token": "x"})
    assert refused.status_code == 403


def test_deactivate_newsletter_in_the_centre_withdraws_the_subscription(
    client: TestClient, auth: Headers, settings: Settings, session: Session
) -> None:
    """C19: "Deactivate newsletter" in My account ends the subscription at once."""
    subject_id = _customer(client, auth)
    policy = load_policy_set(settings.policy).in_force(utcnow().date())
    for action in ("grant", "confirm"):
        record_consent(
            session, policy, subject_id=subject_id, purpose="newsletter", action=action,
            channel="web", wording="Send me the newsletter.", wording_version="test/1",
            actor="test", now=utcnow(),
        )  # fmt: skip
    session.commit()
    assert current_state(session, policy, subject_id)["newsletter"] is ConsentState.CONFIRMED
    csrf = sign_in(client, settings, str(ADA["email"]))

    off = client.post(
        "/account/consents", data={"csrf_token": csrf, "purpose": "newsletter", "on": "0"}
    )

    assert off.status_code == 303
    session.expire_all()
    assert current_state(session, policy, subject_id)["newsletter"] is ConsentState.WITHDRAWN
    assert "newsletter" not in subject_state(session, policy, subject_id).consented


def test_asking_for_erasure_again_files_no_second_request(
    client: TestClient, auth: Headers, settings: Settings
) -> None:
    """A second click (or a reload) while the first erasure request is open hands back that
    one: the DPO's queue gets one request per subject and kind."""
    subject_id = _customer(client, auth)
    csrf = sign_in(client, settings, str(ADA["email"]))
    ask = {"csrf_token": csrf, "kind": "erasure", "confirm": "yes"}
    for _ in range(3):
        assert client.post("/account/requests", data=ask).status_code == 303
    listed = client.get(
        "/api/v1/requests", params={"subject_id": subject_id, "kind": "erasure"},
        headers=auth("dpo"),
    ).json()["requests"]  # fmt: skip
    assert len(listed) == 1


def test_an_approved_erasure_leaves_no_sign_in_behind(
    client: TestClient, auth: Headers, settings: Settings, session: Session
) -> None:
    subject_id = _customer(client, auth)
    csrf = sign_in(client, settings, str(ADA["email"]))
    ask = {"csrf_token": csrf, "kind": "erasure", "confirm": "yes"}
    assert client.post("/account/requests", data=ask).status_code == 303
    [request] = client.get(
        "/api/v1/requests", params={"subject_id": subject_id}, headers=auth("dpo")
    ).json()["requests"]
    approved = client.post(f"/api/v1/requests/{request['request_id']}/approve", headers=auth("dpo"))
    assert approved.status_code == 200
    left = session.scalars(select(AccountToken).where(AccountToken.subject_id == subject_id))
    assert list(left) == []
