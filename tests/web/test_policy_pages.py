"""The policy pages people read: /privacy, versions, changes and the Atom feed (C13, C17, C26)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from schutz.config import Settings
from schutz.policy.loader import load_policy_set
from webapp import TestClient, sqlite_client

ATOM = "{http://www.w3.org/2005/Atom}"
POLICIES = load_policy_set(Settings().policy)
IN_FORCE = POLICIES.latest


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    """The pages hardly touch the database, so SQLite in a temporary directory will do."""
    with sqlite_client(tmp_path, follow_redirects=False) as test_client:
        yield test_client


def text_of(html: str) -> str:
    """The page's words without tags, entities decoded, whitespace squeezed."""
    words = re.sub(r"<[^>]+>", " ", html)
    for entity, char in (("&#39;", "'"), ("&amp;", "&"), ("&quot;", '"'), ("&#34;", '"')):
        words = words.replace(entity, char)
    return re.sub(r"\s+", " ", words)


def test_policy_names_the_controller_with_address_and_fax(client: TestClient) -> None:
    page = client.get("/privacy")

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    c = IN_FORCE.controller
    words = text_of(page.text)
    assert c.name in words
    assert c.address.street in words
    assert f"{c.address.postal_code} {c.address.city}" in words
    assert c.fax is not None
    assert c.fax in words
    assert 'href="/contact?lang=en"' in page.text


def test_policy_lists_every_purpose_with_its_legal_basis(client: TestClient) -> None:
    words = text_of(client.get("/privacy").text)

    for purpose in IN_FORCE.purposes.values():
        assert purpose.name.en in words
        assert purpose.description.en in words
    assert "Art. 6(1)(b) GDPR" in words


def test_policy_hides_staff_roles(client: TestClient) -> None:
    words = text_of(client.get("/privacy").text)

    assert "fulfilment" not in words
    assert "dpo" not in words.lower().split()


def test_cookie_table_comes_from_the_registry(client: TestClient) -> None:
    page = client.get("/privacy").text
    start = page.index('<table class="cookies">')
    table = page[start : page.index("</table>", start)]
    rows = re.findall(r"<tr>.*?</tr>", table, re.S)[1:]

    assert len(rows) == len(IN_FORCE.cookies)
    for cookie, row in zip(IN_FORCE.cookies, rows, strict=True):
        assert f"<code>{cookie.name}</code>" in row
        assert cookie.provider in row
    assert "until the browser closes" in table


def test_policy_states_we_never_sell_and_lists_processors(client: TestClient) -> None:
    words = text_of(client.get("/privacy").text)

    assert "We never sell your personal data" in words
    for recipient in IN_FORCE.recipients.values():
        assert recipient.name.en in words


def test_policy_shows_version_and_effective_date(client: TestClient) -> None:
    words = text_of(client.get("/privacy").text)

    assert f"Version {IN_FORCE.version}, in force since 1 November 2026." in words
    assert 'href="/privacy/versions?lang=en"' in client.get("/privacy").text


def test_german_policy_is_german(client: TestClient) -> None:
    page = client.get("/privacy?lang=de")

    assert page.headers["content-language"] == "de"
    assert '<html lang="de">' in page.text
    words = text_of(page.text)
    assert "<h1>Datenschutzerklärung</h1>" in page.text
    assert "Wer Ihre Daten erhält" in words
    assert "Wir verkaufen Ihre personenbezogenen Daten nie" in words
    assert "gültig seit 1. November 2026" in words
    assert "bis zum Schließen des Browsers" in words
    assert "Art. 6 Abs. 1 lit. b DSGVO" in words
    for purpose in IN_FORCE.purposes.values():
        assert purpose.name.de in words


def test_accept_language_picks_german(client: TestClient) -> None:
    page = client.get("/privacy", headers={"Accept-Language": "de-DE,de;q=0.9"})

    assert "<h1>Datenschutzerklärung</h1>" in page.text


def test_pages_carry_the_content_security_policy(client: TestClient) -> None:
    for path in ("/privacy", "/privacy/versions", "/privacy/changes", "/privacy/feed.atom"):
        csp = client.get(path).headers["content-security-policy"]
        assert "default-src 'self'" in csp
        assert "unsafe-inline" not in csp


def test_2013_version_shows_google_analytics_for_two_years(client: TestClient) -> None:
    page = client.get("/privacy/versions/2013-06")

    assert page.status_code == 200
    words = text_of(page.text)
    assert re.search(r"Google Analytics.{0,200}2 years", words)
    assert "Earlier version" in words
    assert "applied from 1 June 2013 until 1 November 2026" in words
    assert "Read the current privacy policy" in words


def test_2013_version_in_german_gives_durations_in_german(client: TestClient) -> None:
    words = text_of(client.get("/privacy/versions/2013-06?lang=de").text)

    assert "2 Jahre" in words
    assert "bis zum Schließen des Browsers" in words


def test_unknown_version_is_a_friendly_404_page(client: TestClient) -> None:
    page = client.get("/privacy/versions/1999-01")

    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "Page not found" in page.text
    assert "1999-01" in page.text
    assert 'href="/privacy/versions?lang=en"' in page.text


def test_unknown_version_does_not_echo_markup(client: TestClient) -> None:
    page = client.get("/privacy/versions/<b>x</b>")

    assert page.status_code == 404
    assert "<b>x</b>" not in page.text


def test_versions_list_marks_the_one_in_force(client: TestClient) -> None:
    words = text_of(client.get("/privacy/versions").text)

    assert words.index("2026-11") < words.index("2013-06")
    assert "In force" in words
    assert "Effective 1 June 2013, replaced on 1 November 2026" in words


def test_changes_page_shows_the_analytics_change(client: TestClient) -> None:
    page = client.get("/privacy/changes")

    assert page.status_code == 200
    words = text_of(page.text)
    assert "From version 2013-06 to version 2026-11" in words
    assert "Web analytics" in words
    assert re.search(r"<del>\s*Google Inc\.\s*</del>", page.text)
    assert re.search(r"<ins>\s*Gigaset Communications GmbH\s*</ins>", page.text)
    assert "__utma" in words
    assert "Removed" in words


def test_changes_page_takes_a_pair_of_versions(client: TestClient) -> None:
    page = client.get("/privacy/changes?from=2013-06&to=2026-11&lang=de")

    assert page.status_code == 200
    words = text_of(page.text)
    assert "Von Fassung 2013-06 zu Fassung 2026-11" in words
    assert "10 Jahre" in words
    assert "8 Jahre" in words


def test_changes_page_with_an_unknown_version_is_404(client: TestClient) -> None:
    assert client.get("/privacy/changes?from=nope&to=2026-11").status_code == 404


def test_feed_is_well_formed_atom_with_one_entry_per_version(client: TestClient) -> None:
    response = client.get("/privacy/feed.atom")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/atom+xml")
    feed = ET.fromstring(response.content)  # noqa: S314 - our own server's answer in a test
    assert feed.tag == f"{ATOM}feed"
    for required in ("id", "title", "updated", "author"):
        assert feed.find(f"{ATOM}{required}") is not None
    entries = feed.findall(f"{ATOM}entry")
    assert len(entries) == len(POLICIES) == 2
    newest = entries[0]
    assert newest.findtext(f"{ATOM}updated") == "2026-11-01T00:00:00Z"
    assert "2026-11" in (newest.findtext(f"{ATOM}title") or "")
    summary = newest.findtext(f"{ATOM}summary") or ""
    assert summary == IN_FORCE.change_summary.en
    link = newest.find(f"{ATOM}link[@rel='alternate']")
    assert link is not None
    assert link.get("href", "").endswith("/privacy/versions/2026-11?lang=en")


def test_german_feed_is_german(client: TestClient) -> None:
    body = client.get("/privacy/feed.atom?lang=de").content
    feed = ET.fromstring(body)  # noqa: S314 - our own server's answer in a test

    assert feed.get("{http://www.w3.org/XML/1998/namespace}lang") == "de"
    titles = [e.findtext(f"{ATOM}title") or "" for e in feed.findall(f"{ATOM}entry")]
    assert titles[0].startswith("Datenschutzerklärung, Fassung 2026-11")


@pytest.mark.parametrize(
    "path",
    [
        "/privacy",
        "/privacy?lang=de",
        "/privacy/versions",
        "/privacy/versions/2013-06",
        "/privacy/changes",
        "/privacy/versions/missing",
        "/api/docs",
    ],
)
def test_no_page_loads_an_asset_from_another_host(client: TestClient, path: str) -> None:
    page = client.get(path).text

    assets = re.findall(r"<(?:link|script|img|iframe)\b[^>]*?(?:src|href)=\"([^\"]+)\"", page)
    assert assets, "every page loads our stylesheet"
    assert [a for a in assets if re.match(r"(https?:)?//", a)] == []
    # Scripts only by src from our own host: CSP allows no inline script.
    assert re.findall(r"<script(?![^>]*\bsrc=\"/static/)", page) == []
    assert "style=" not in page
    assert "<style" not in page


def test_language_switch_keeps_the_path_and_query(client: TestClient) -> None:
    page = client.get("/privacy/changes?from=2013-06&to=2026-11").text

    assert 'href="/privacy/changes?from=2013-06&amp;to=2026-11&amp;lang=de"' in page
