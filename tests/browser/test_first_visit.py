"""A first-time visitor's browser: the policy pages load nothing from elsewhere, set no cookie."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, Request

pytestmark = pytest.mark.browser


def _visit(page: Page, url: str) -> list[str]:
    """Load `url` and return every URL the browser asked for on the way."""
    requested: list[str] = []

    def record(request: Request) -> None:
        requested.append(request.url)

    page.on("request", record)
    page.goto(url, wait_until="networkidle")
    page.remove_listener("request", record)
    return requested


@pytest.mark.parametrize("query", ["", "?lang=de"])
def test_policy_page_talks_only_to_its_own_host_and_sets_no_cookie(
    page: Page, live_server: str, query: str
) -> None:
    requested = _visit(page, f"{live_server}/privacy{query}")

    own = urlsplit(live_server).netloc
    assert requested, "the page made no request at all"
    elsewhere = [u for u in requested if urlsplit(u).netloc != own]
    assert elsewhere == []
    assert any(u.endswith("/static/schutz.css") for u in requested)
    assert page.context.cookies() == []


def test_cookie_table_is_shown_from_the_registry(page: Page, live_server: str) -> None:
    _visit(page, f"{live_server}/privacy")

    table = page.locator("table.cookies")
    assert table.is_visible()
    rows = table.locator("tbody tr")
    assert rows.count() >= 2
    assert "until the browser closes" in table.inner_text()


def test_german_page_has_german_headings(page: Page, live_server: str) -> None:
    _visit(page, f"{live_server}/privacy?lang=de")

    assert page.locator("html").get_attribute("lang") == "de"
    assert page.locator("h1").inner_text() == "Datenschutzerklärung"
    headings = page.locator("h2").all_inner_texts()
    assert "Wer Ihre Daten erhält" in headings
    assert "Ihre Rechte" in headings
    assert "bis zum Schließen des Browsers" in page.locator("table.cookies").inner_text()


def test_language_switch_stays_on_the_page(page: Page, live_server: str) -> None:
    _visit(page, f"{live_server}/privacy/versions")

    page.get_by_role("link", name="DE", exact=True).click()
    page.wait_for_load_state()

    assert urlsplit(page.url).path == "/privacy/versions"
    assert page.locator("h1").inner_text() == "Fassungen der Datenschutzerklärung"
