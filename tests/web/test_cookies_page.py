"""The banner and /cookies: plain form posts, consent events, asking again, withdrawing."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from schutz.consent.models import ConsentEvent
from schutz.consent.service import wording_hash
from schutz.cookies.choices import Choices, decode, new_visitor_id
from schutz.web.routes.cookies import wording_text
from webapp import TestClient, consent_cookie


@pytest.fixture
def follow_redirects() -> bool:
    return False


def events(app: FastAPI) -> list[ConsentEvent]:
    with app.state.sessions() as session:
        return list(session.scalars(select(ConsentEvent).order_by(ConsentEvent.id)))


def banner(html: str) -> str:
    found = re.search(r'<section class="cookie-banner".*?</section>', html, re.S)
    return found.group(0) if found else ""


def test_a_first_visit_shows_the_banner_with_reject_beside_accept(client: TestClient) -> None:
    shown = banner(client.get("/privacy").text)

    assert 'action="/cookies?lang=en"' in shown
    assert 'value="accept"' in shown
    assert 'value="reject"' in shown
    assert shown.index('value="accept"') < shown.index('value="reject"') < shown.index("</form>")
    assert 'name="next" value="/privacy"' in shown
    assert "<script" not in shown  # the banner needs no script


def test_the_banner_speaks_german(client: TestClient) -> None:
    shown = banner(client.get("/privacy?lang=de").text)

    assert "Alle ablehnen" in shown
    assert "Alle akzeptieren" in shown


def test_accepting_records_events_with_the_wording_shown(client: TestClient, app: FastAPI) -> None:
    response = client.post(
        "/cookies?lang=de", data={"action": "accept", "next": "/privacy?lang=de"}
    )

    assert response.status_code == 303
    assert response.headers["location"] == "/privacy?lang=de"
    choices = decode(sent_value(response, "schutz_consent").split(";")[0].split("=", 1)[1])
    assert choices is not None
    assert choices.allowed == {"analytics", "embeds"}
    [event] = [e for e in events(app) if e.purpose == "web_analytics"]
    assert event.action == "grant"
    assert event.visitor_id == choices.visitor_id
    assert event.policy_version == "2026-11"
    assert event.wording_hash is not None
    assert event.wording_hash != wording_hash("")


def test_the_wording_hash_is_the_hash_of_the_text_on_the_page(
    client: TestClient, app: FastAPI
) -> None:
    page = client.get("/cookies").text
    client.post("/cookies", data={"action": "reject", "next": "/cookies"})
    [event] = [e for e in events(app) if e.purpose == "web_analytics"]

    from starlette.requests import Request

    request = Request({"type": "http", "app": app, "query_string": b"", "headers": []})
    text = wording_text(request, ("analytics", "embeds"))
    assert event.wording_hash == wording_hash(text)
    assert event.action == "withdraw"
    for sentence in ("Cookies and content from other sites", "Counts visits, pages and referrers"):
        assert sentence in text
        assert sentence in page


def test_after_a_choice_the_banner_is_gone(client: TestClient) -> None:
    client.post("/cookies", data={"action": "reject"})

    assert banner(client.get("/privacy").text) == ""


def test_a_new_policy_category_asks_again(client: TestClient) -> None:
    old = Choices(new_visitor_id(), "2013-06", {"analytics": True})
    client.cookies.set("schutz_consent", old.encode())

    assert 'value="embeds"' in banner(client.get("/privacy").text)


def sent_value(response: object, name: str) -> str:
    headers = response.headers.get_list("set-cookie")  # type: ignore[attr-defined]
    [header] = [h for h in headers if h.startswith(f"{name}=")]
    return str(header)


def test_withdrawing_analytics_deletes_its_cookie(client: TestClient) -> None:
    client.cookies.set("schutz_consent", consent_cookie(analytics=True, embeds=True))
    client.cookies.set("schutz_vid", "A" * 22)

    response = client.post("/cookies", data={"action": "save", "allow": ["embeds"]})

    assert "Max-Age=0" in sent_value(response, "schutz_vid")
    choices = decode(sent_value(response, "schutz_consent").split(";")[0].split("=", 1)[1])
    assert choices is not None
    assert choices.allowed == {"embeds"}


def test_the_script_gets_json_instead_of_a_redirect(client: TestClient) -> None:
    response = client.post(
        "/cookies", data={"action": "accept"}, headers={"Accept": "application/json"}
    )

    assert response.status_code == 200
    assert response.json()["allowed"] == ["analytics", "embeds"]


def test_a_form_from_another_site_is_refused(client: TestClient, app: FastAPI) -> None:
    response = client.post(
        "/cookies", data={"action": "accept"}, headers={"Origin": "https://evil.example"}
    )

    assert response.status_code == 403
    assert events(app) == []


def test_next_never_leaves_the_site(client: TestClient) -> None:
    for target in ("https://evil.example/", "//evil.example/", "/\\evil"):
        response = client.post("/cookies", data={"action": "reject", "next": target})
        assert response.headers["location"].startswith("/cookies")


def test_the_cookie_page_lists_the_registry(client: TestClient) -> None:
    page = client.get("/cookies?lang=de").text

    for name in ("schutz_vid", "schutz_consent", "schutz_session", "schutz_optout"):
        assert name in page
    assert "13 Monate" in page
    assert "Einstellungen" in page
    assert banner(page) == ""


def test_the_embed_button_grants_the_embeds_category(client: TestClient) -> None:
    page = client.get("/social-demo").text
    assert "<iframe" not in page
    assert "facebook.com/sharer" in page

    response = client.post(
        "/cookies",
        data={"action": "grant", "category": "embeds", "next": "/social-demo#embed-facebook"},
    )

    assert response.headers["location"] == "/social-demo#embed-facebook"
    choices = decode(client.cookies.get("schutz_consent"))
    assert choices is not None
    assert choices.allowed == {"embeds"}
    after = client.get("/social-demo")
    assert '<iframe src="https://www.facebook.com/plugins/page.php' in after.text
    assert (
        "frame-src https://platform.twitter.com https://www.facebook.com"
        in after.headers["content-security-policy"]
    )
