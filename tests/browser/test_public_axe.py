"""axe-core finds nothing on any public page: English and German, desktop (1280) and phone
(390), before the cookie choice (banner shown) and signed in to the privacy centre, and in the
error states of every form. Each run lists every page's violations at once."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, ViewportSize

from disclosures.demo_server import DemoServer, demo_server
from public_site import ADA_ORDER, register_ada, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WIDTHS: dict[str, ViewportSize] = {
    "desktop": {"width": 1280, "height": 900},
    "phone": {"width": 390, "height": 844},
}
PAGES = (
    "/privacy",
    "/privacy/versions",
    "/privacy/changes",
    "/cookies",
    "/newsletter",
    "/newsletter/unsubscribe?token=not-a-token",
    "/contact",
    "/requests/new",
    "/requests/verify?token=not-a-token",
    "/account",
    "/account/login?token=not-a-token",
    "/analytics/opt-out",
    "/social-demo",
    "/shop",
    f"/shop/orders/{ADA_ORDER}",
    "/no-such-page",
)
FORMS = {  # a page, the fields typed wrong, and the button that sends it
    "/requests/new": {"#email": "not-an-address", "#details": "Please delete my account."},
    "/contact": {"#email": "a@b", "#message": "x" * 5_001},
    "/account": {"#email": "ada@example"},
    "/newsletter": {"#email": "no address"},
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    with demo_server(tmp_path_factory.mktemp("public-axe")) as running:
        register_ada(running)
        yield running


def _problems(found: list[dict[str, Any]], where: str) -> list[str]:
    return [f"{where}: {v['id']} ({v['help']}) at {v['nodes']}" for v in found]


def _checkout_with_errors(page: Page, base: str, lang: str) -> None:
    page.goto(f"{base}/shop?lang={lang}")
    page.locator("main form button[type=submit]").first.click()
    page.locator("main a[href*='/shop/checkout']").first.click()
    page.fill("#postal_code", "1")
    page.fill("#email", "a@b")
    page.locator("form.checkout-form button[type=submit]").click()
    page.locator("#email-error").wait_for()


@pytest.mark.parametrize("width", list(WIDTHS))
@pytest.mark.parametrize("lang", ["en", "de"])
def test_axe_finds_nothing_on_the_public_pages(
    server: DemoServer,
    browser: Browser,
    axe: Callable[[Page], list[dict[str, Any]]],
    lang: str,
    width: str,
) -> None:
    base = server.base_url
    context = browser.new_context(
        locale="de-DE" if lang == "de" else "en-GB", viewport=WIDTHS[width]
    )  # fmt: skip
    problems: list[str] = []
    try:
        page = context.new_page()
        for path in PAGES:
            joiner = "&" if "?" in path else "?"
            page.goto(f"{base}{path}{joiner}lang={lang}")
            problems += _problems(axe(page), path)
        for path, typed in FORMS.items():
            page.goto(f"{base}{path}?lang={lang}")
            for selector, value in typed.items():
                page.fill(selector, value)
            page.locator("main form.stack button[type=submit]").first.click()
            page.locator("[aria-invalid=true], .flash.error").first.wait_for()
            problems += _problems(axe(page), f"{path} (refused)")
        _checkout_with_errors(page, base, lang)
        problems += _problems(axe(page), "/shop/checkout (refused)")

        sign_in(page, server, lang)
        problems += _problems(axe(page), "/account (signed in)")
        page.locator("#restrict-erase form button.danger").click()
        problems += _problems(axe(page), "/account (confirm erasure)")
        page.goto(f"{base}/account?lang={lang}")
        page.locator("#held form").nth(1).locator("button").click()
        page.wait_for_url("**/account/export?**")
        problems += _problems(axe(page), "/account/export")
    finally:
        context.close()
    assert problems == [], "\n".join(problems)
