"""The static shop on a second origin, with Schutz's one tag, in Chromium (issue 14).

Before any choice: no cookie, no request to a third-party host, Consent Mode's denied
default first in dataLayer. Accept runs the blocked scripts and frames and leaves the proof
in the ledger; Reject runs nothing; a click on one provider's placeholder loads that
provider alone.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from urllib.parse import urlsplit

from playwright.sync_api import Page, Request
from sqlalchemy import create_engine, text

from schutz.analytics.sites import site_visitor_id
from schutz.clock import utcnow
from schutz.cookies.choices import Choices, decode
from schutz.identity import signing_secrets
from static_shop import Pair

SIGNALS = {
    "ad_storage", "ad_user_data", "ad_personalization", "analytics_storage",
    "functionality_storage", "personalization_storage", "security_storage",
}  # fmt: skip


def record(page: Page, pair: Pair) -> list[str]:
    """Third-party hosts the page asks for from now on (requests that fail count too)."""
    own = {urlsplit(pair.shop).netloc, urlsplit(pair.schutz).netloc}
    hosts: list[str] = []

    def seen(request: Request) -> None:
        parts = urlsplit(request.url)
        if parts.scheme in ("http", "https") and parts.netloc not in own:
            hosts.append(parts.hostname or "")

    page.on("request", seen)
    return hosts


def open_shop(page: Page, pair: Pair, path: str = "/") -> None:
    page.goto(pair.shop + path)
    page.get_by_role("dialog").wait_for()


def rows(pair: Pair, sql: str, **params: object) -> list[tuple[object, ...]]:
    engine = create_engine(pair.database_url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql), params)]
    finally:
        engine.dispose()


def consent_cookie(page: Page) -> Choices:
    """The choice in the shop's cookie, read as Schutz's own pages read theirs."""
    cookie = next(c for c in page.context.cookies() if c["name"] == "schutz_consent")
    choices = decode(cookie["value"])
    assert choices is not None, cookie["value"]
    return choices


def eventually(check: Callable[[], bool], what: str) -> None:
    """Wait for something another process writes (the beacon's batch is written every 250 ms)."""
    deadline = time.monotonic() + 10
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        time.sleep(0.1)


def test_before_any_choice_nothing_leaves_and_consent_mode_starts_denied(
    page: Page, server: Pair
) -> None:
    third_party = record(page, server)
    open_shop(page, server)
    page.wait_for_load_state("networkidle")

    assert page.context.cookies() == []
    assert third_party == []
    first = page.evaluate("Array.from(window.dataLayer[0])")
    assert first[:2] == ["consent", "default"]
    assert set(first[2]) == SIGNALS
    assert set(first[2].values()) == {"denied"}
    assert page.evaluate("window.shopAnalyticsRan") is None
    assert page.evaluate("window.Schutz.consent") is None
    assert page.locator("iframe[src]").count() == 0
    placeholder = page.locator("[data-schutz-placeholder=facebook]")
    assert "Meta Platforms Ireland Limited" in placeholder.inner_text()


def test_the_banner_gives_accept_and_reject_equal_weight_and_works_by_keyboard(
    page: Page, server: Pair
) -> None:
    open_shop(page, server)
    dialog = page.get_by_role("dialog", name="Cookies and content from other sites")
    accept = dialog.get_by_role("button", name="Accept all")
    reject = dialog.get_by_role("button", name="Reject all")
    a, r = accept.bounding_box(), reject.bounding_box()
    assert a is not None
    assert r is not None
    assert (a["width"], a["height"]) == (r["width"], r["height"])
    assert accept.get_attribute("class") == reject.get_attribute("class")
    assert page.evaluate("document.activeElement.id") == "schutz-title"

    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Reject all"
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # Customise
    assert dialog.get_by_role("checkbox", name="Analytics").is_visible()
    assert dialog.get_by_role("checkbox", name="Essential").is_disabled()


def test_accept_runs_the_blocked_scripts_and_keeps_the_proof(page: Page, server: Pair) -> None:
    third_party = record(page, server)
    open_shop(page, server)
    page.evaluate("document.addEventListener('schutz:consent', e => { window.fired = e.detail; })")
    with page.expect_response(lambda r: "/api/v1/visitor-consents" in r.url) as answer:
        page.get_by_role("button", name="Accept all").click()
    assert answer.value.status == 201
    page.wait_for_function("window.shopAnalyticsRan === true")
    page.wait_for_load_state("networkidle")

    assert {"cdn.analytics.example", "www.googletagmanager.com"} <= set(third_party)
    assert {"www.facebook.com", "platform.twitter.com"} <= set(third_party)
    fired = page.evaluate("window.fired")
    assert fired["categories"] == {"analytics": True, "embeds": True}
    layer = page.evaluate("window.dataLayer.map(e => Array.from(e))")
    assert layer[0][:2] == ["consent", "default"]
    update = next(e for e in layer if e[:2] == ["consent", "update"])
    assert update[2]["analytics_storage"] == "granted"
    assert update[2]["ad_storage"] == "denied"  # the registry has no advertising category

    stored = consent_cookie(page)
    visitor, version = stored.visitor_id, stored.version
    assert stored.decided == {"analytics": True, "embeds": True}
    assert [c["domain"] for c in page.context.cookies()] == ["localhost"]
    registry = page.evaluate(
        f"fetch('{server.schutz}/api/v1/sites/shop/registry?lang=en').then(r => r.json())"
    )
    assert version == registry["version"] == fired["version"]
    (event,) = rows(
        server,
        "SELECT action, purpose, evidence, wording_hash, ip_truncated FROM consent_event"
        " WHERE visitor_id = :v",
        v=visitor,
    )
    action, purpose, evidence, wording_hash, ip = event
    assert (action, purpose, ip) == ("grant", "web_analytics", "127.0.0.0")
    assert wording_hash == registry["wording_hash"]
    proof = json.loads(str(evidence))
    assert proof["site"] == "shop"
    assert proof["origin"] == server.shop
    assert proof["registry_version"] == version

    page.reload()
    page.wait_for_function("window.shopAnalyticsRan === true")
    assert page.get_by_role("dialog").count() == 0


def test_a_yes_the_server_did_not_record_runs_nothing(page: Page, server: Pair) -> None:
    """Proof first: when Schutz cannot keep the choice (rate limit, outage, a stale page),
    Accept and a placeholder click load nothing and leave no consent cookie behind."""
    page.route(
        "**/api/v1/visitor-consents",
        lambda route: route.fulfill(status=503, body='{"detail": "busy"}'),
    )
    third_party = record(page, server)
    open_shop(page, server)
    with page.expect_response(lambda r: "/api/v1/visitor-consents" in r.url) as answer:
        page.get_by_role("button", name="Accept all").click()
    assert answer.value.status == 503
    with page.expect_response(lambda r: "/api/v1/visitor-consents" in r.url):
        page.get_by_role("button", name="Load content from Meta Platforms Ireland Limited").click()
    page.wait_for_load_state("networkidle")

    assert third_party == []
    assert page.evaluate("window.shopAnalyticsRan") is None
    assert page.evaluate("window.Schutz.consent") is None
    assert [c for c in page.context.cookies() if c["name"] == "schutz_consent"] == []
    assert page.get_by_role("dialog").count() == 1  # the question is still open


def test_reject_runs_nothing(page: Page, server: Pair) -> None:
    third_party = record(page, server)
    open_shop(page, server)
    with page.expect_response(lambda r: "/api/v1/visitor-consents" in r.url):
        page.get_by_role("button", name="Reject all").click()
    page.reload()
    page.wait_for_load_state("networkidle")

    assert third_party == []
    assert page.evaluate("window.shopAnalyticsRan") is None
    assert page.get_by_role("dialog").count() == 0
    assert page.evaluate("window.Schutz.consent.categories") == {
        "analytics": False,
        "embeds": False,
    }
    visitor = consent_cookie(page).visitor_id
    assert rows(server, "SELECT action FROM consent_event WHERE visitor_id = :v", v=visitor) == [
        ("withdraw",)
    ]


def test_a_click_on_the_facebook_placeholder_loads_facebook_and_not_x(
    page: Page, server: Pair
) -> None:
    third_party = record(page, server)
    open_shop(page, server)
    page.get_by_role("button", name="Load content from Meta Platforms Ireland Limited").click()
    page.wait_for_selector("iframe[title='Gigaset on Facebook'][src]")
    page.wait_for_load_state("networkidle")

    assert "www.facebook.com" in third_party
    assert "platform.twitter.com" not in third_party
    assert page.locator("[data-schutz-placeholder=twitter]").is_visible()
    assert page.evaluate("window.Schutz.consent.services") == {"facebook": True}


def test_the_banner_comes_back_when_the_registry_version_changes(page: Page, server: Pair) -> None:
    old = Choices("Zq3Kx0123456789abcdefg", "2026-11-00000000", {"analytics": True, "embeds": True})
    page.context.add_cookies(
        [{"name": "schutz_consent", "value": old.encode(), "url": server.shop}]
    )
    third_party = record(page, server)
    open_shop(page, server)
    page.wait_for_load_state("networkidle")

    assert third_party == []
    assert page.evaluate("window.shopAnalyticsRan") is None


def test_gpc_starts_everything_off_and_the_banner_says_why(page: Page, server: Pair) -> None:
    page.add_init_script(
        "Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', {get: () => true})"
    )
    open_shop(page, server)
    dialog = page.get_by_role("dialog")
    assert "Global Privacy Control" in dialog.inner_text()
    dialog.get_by_role("button", name="Customise").click()
    assert not dialog.get_by_role("checkbox", name="Analytics").is_checked()
    assert not dialog.get_by_role("checkbox", name="Content from other sites").is_checked()


def test_page_views_spa_navigation_campaigns_and_events_reach_the_sites_report(
    page: Page, server: Pair
) -> None:
    open_shop(page, server, "/?utm_source=newsletter&utm_campaign=autumn&email=a%40b.example&ref=x")
    with page.expect_response(lambda r: "/api/v1/visitor-consents" in r.url):
        page.get_by_role("button", name="Accept all").click()
    page.get_by_role("link", name="Accessories").click()
    page.get_by_role("button", name="Add to cart").click()
    visitor = consent_cookie(page).visitor_id
    # The analytics id is a keyed hash of the consent id: the two tables share no key.
    key = signing_secrets.read(signing_secrets.secret_path(server.data_dir)).accepted(utcnow())[-1]
    anon = site_visitor_id(key, visitor)
    assert anon != hashlib.sha256(f"analytics:{visitor}".encode()).hexdigest()[:22]

    def stored() -> bool:
        found = rows(server, "SELECT count(*) FROM analytics_event WHERE visitor_id = :v", v=anon)
        views = rows(server, "SELECT count(*) FROM page_view WHERE visitor_id = :v", v=anon)
        return found[0][0] == 1 and views[0][0] == 2

    eventually(stored, "two page views and one event of this visitor")
    views = rows(
        server, "SELECT site, path, utm FROM page_view WHERE visitor_id = :v ORDER BY id", v=anon
    )
    assert views == [
        ("shop", "/", "utm_source=newsletter&utm_campaign=autumn"),
        ("shop", "/accessories", None),
    ]
    assert rows(server, "SELECT count(*) FROM page_view WHERE visitor_id = :v", v=visitor) == [(0,)]
    assert rows(
        server, "SELECT name, props FROM analytics_event WHERE visitor_id = :v", v=anon
    ) == [("add_to_cart", '{"price":69.99,"sku":"CL660HX"}')]


def test_taking_consent_back_is_as_easy_and_stops_the_scripts(page: Page, server: Pair) -> None:
    open_shop(page, server)
    with page.expect_response(lambda r: "/api/v1/visitor-consents" in r.url):
        page.get_by_role("button", name="Accept all").click()
    page.wait_for_function("window.shopAnalyticsRan === true")

    page.get_by_role("link", name="Privacy settings").click()
    with page.expect_navigation():  # what already ran is stopped by loading the page afresh
        page.get_by_role("button", name="Reject all").click()
    page.wait_for_load_state("networkidle")

    assert page.evaluate("window.shopAnalyticsRan") is None
    visitor = consent_cookie(page).visitor_id
    actions = rows(
        server, "SELECT action FROM consent_event WHERE visitor_id = :v ORDER BY id", v=visitor
    )
    assert actions == [("grant",), ("withdraw",)]


def test_a_german_page_gets_the_german_banner(page: Page, server: Pair) -> None:
    open_shop(page, server, "/de/")
    dialog = page.get_by_role("dialog", name="Cookies und Inhalte anderer Anbieter")

    assert dialog.get_by_role("button", name="Alle akzeptieren").is_visible()
    assert dialog.get_by_role("button", name="Alle ablehnen").is_visible()
    assert page.get_by_role(
        "button", name="Inhalt von Meta Platforms Ireland Limited laden"
    ).count()
