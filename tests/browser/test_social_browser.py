"""In Chromium: share links and two-click embeds make no request to Facebook or X until a
click, and the click loads the embed (C20-C22)."""

from __future__ import annotations

from urllib.parse import urlsplit

from playwright.sync_api import Page
from test_cookies_browser import server  # noqa: F401 - the wired live server fixture


def test_nothing_goes_to_facebook_or_x_before_a_click(
    server: tuple[str, str],  # noqa: F811 - the fixture imported above
    page: Page,
) -> None:
    base, _db = server
    own = urlsplit(base).netloc
    hosts: list[str] = []
    page.on("request", lambda request: hosts.append(urlsplit(request.url).netloc))

    page.goto(base + "/social-demo")
    page.wait_for_load_state("networkidle")

    assert set(hosts) == {own}
    share = page.get_by_role("link", name="Share on Facebook")
    assert share.get_attribute("href", timeout=1000).startswith(  # type: ignore[union-attr]
        "https://www.facebook.com/sharer/sharer.php?u="
    )
    assert page.locator("iframe").count() == 0
    assert page.get_by_text("Meta Platforms Ireland Limited").first.is_visible()

    with page.expect_request(lambda r: "facebook.com" in r.url):
        page.get_by_role("button", name="Load content from Meta Platforms Ireland Limited").click()

    page.wait_for_selector("iframe[src^='https://www.facebook.com/']")
    # Consent per service: Facebook loads, X stays a placeholder.
    assert page.locator("iframe").count() == 1
    assert page.locator("[data-embed-key=twitter]").is_visible()
    assert not any("twitter.com" in host for host in hosts)
    assert "schutz_consent" in {c["name"] for c in page.context.cookies()}


def test_without_javascript_the_click_loads_the_embed_after_a_reload(
    server: tuple[str, str],  # noqa: F811 - the fixture imported above
    page: Page,
) -> None:
    base, _db = server
    context = page.context.browser.new_context(java_script_enabled=False)  # type: ignore[union-attr]
    try:
        plain = context.new_page()
        plain.goto(base + "/social-demo")
        plain.get_by_role("button", name="Load content from X Internet Unlimited Company").click()
        assert plain.url.endswith("/social-demo#embed-twitter")
        assert plain.locator('iframe[src^="https://platform.twitter.com/"]').count() == 1
    finally:
        context.close()
