"""Issue 17, public side, as a new visitor walks it in Chromium: the banner decides in place,
checkout keeps the cart and every entry, forms keep what was typed and tie errors to fields,
the privacy centre tells agreement from objection, erasure asks first, the download is one
copy, Back does not order twice, the banner fits a phone, and the small things hold."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, ViewportSize

from disclosures.demo_server import DemoServer, demo_server
from live import wait_for
from public_site import ADA_ORDER, count_requests, mails_to, register_ada, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1280, "height": 900}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    """The demo server with Ada registered and one order of hers delivered to processors."""
    with demo_server(tmp_path_factory.mktemp("public-paths")) as running:
        register_ada(running)
        yield running


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(locale="en-GB", viewport=PHONE, is_mobile=True, has_touch=True)
    yield context.new_page()
    context.close()


@pytest.fixture
def desktop(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(locale="en-GB", viewport=DESKTOP, accept_downloads=True)
    yield context.new_page()
    context.close()


# --- defect 1: the banner decides in place -----------------------------------------------


def test_the_banner_choice_applies_in_place_loads_embeds_and_moves_focus(
    server: DemoServer, desktop: Page
) -> None:
    page = desktop
    posted: list[str] = []
    page.on("request", lambda r: posted.append(r.url) if r.method == "POST" else None)
    page.goto(f"{server.base_url}/social-demo")
    page.evaluate("window.stillTheSamePage = true")
    assert page.locator(".embed-placeholder").count() >= 1
    accept = page.get_by_role("button", name="Accept all")
    accept.focus()
    accept.press("Enter")

    page.locator("#cookie-banner").wait_for(state="detached")
    assert page.evaluate("window.stillTheSamePage === true")  # no reload
    assert [u for u in posted if "/cookies" in u], posted
    assert not [u for u in posted if "object" in u], posted  # never /[object RadioNodeList]
    page.locator("main iframe").first.wait_for()
    assert page.locator(".embed-placeholder").count() == 0
    assert page.evaluate("document.activeElement.id") == "main"


# --- defect 7: the banner fits a phone and lies over the page ----------------------------


def test_the_banner_is_compact_on_a_phone_and_does_not_push_the_page(
    server: DemoServer, phone: Page
) -> None:
    phone.goto(f"{server.base_url}/privacy")
    banner = phone.locator("#cookie-banner")
    box = banner.bounding_box()
    assert box is not None
    assert box["height"] <= 0.35 * PHONE["height"], box
    assert box["y"] + box["height"] == pytest.approx(PHONE["height"], abs=1)  # at the foot
    header = phone.locator("header.site").bounding_box()
    assert header is not None
    assert header["y"] == 0
    assert phone.get_by_role("button", name="Reject all").is_visible()
    assert phone.get_by_role("link", name="Cookie settings").first.is_visible()


# --- defects 2 and 6, and the order confirmation of defect 9 -----------------------------


def test_checkout_keeps_cart_and_entries_places_once_and_mails_a_confirmation(
    server: DemoServer, desktop: Page
) -> None:
    page = desktop
    page.goto(f"{server.base_url}/shop")
    page.get_by_role("button", name="Add to cart").first.click()
    page.get_by_role("link", name="Go to checkout").click()
    page.fill("#name", "Grace Hopper")
    page.fill("#street", "Arlington Street 1")
    page.fill("#postal_code", "123")
    page.fill("#city", "Berlin")
    page.fill("#email", "a@b")
    assert page.locator("#street").get_attribute("maxlength") == "200"
    page.get_by_role("button", name="Buy now").click()

    postal = page.locator("#postal_code")
    assert postal.get_attribute("aria-invalid") == "true"
    assert "postal_code-error" in (postal.get_attribute("aria-describedby") or "")
    assert page.locator("#postal_code-error").is_visible()
    assert page.locator("#email").get_attribute("aria-invalid") == "true"
    assert "email-error" in (page.locator("#email").get_attribute("aria-describedby") or "")
    assert page.input_value("#name") == "Grace Hopper"
    assert page.input_value("#city") == "Berlin"
    assert "Gigaset" in page.locator(".summary-box").inner_text()  # the cart is still there

    page.fill("#postal_code", "10115")
    page.fill("#email", "grace.hopper@example.org")
    page.get_by_role("button", name="Buy now").click()
    page.get_by_role("heading", name="Thank you for your order").wait_for()
    order_ref = page.locator(".order-ref").inner_text()

    wait_for(lambda: mails_to(server, "grace.hopper@example.org") != [], "the confirmation")
    confirmations = mails_to(server, "grace.hopper@example.org")
    assert len(confirmations) == 1
    subject, body = confirmations[0]
    assert order_ref in subject
    assert "Arlington" not in body  # no address in the mail


def test_back_after_an_order_or_sending_the_form_again_does_not_order_twice(
    server: DemoServer, desktop: Page
) -> None:
    page = desktop
    page.goto(f"{server.base_url}/shop")
    page.get_by_role("button", name="Add to cart").nth(1).click()
    page.get_by_role("link", name="Go to checkout").click()
    assert "order=GS-" in page.url
    for field, value in {"#name": "Alan Turing", "#street": "Wilmslow Road 1",
                         "#postal_code": "80331", "#city": "München",
                         "#email": "alan.turing@example.org"}.items():  # fmt: skip
        page.fill(field, value)
    sent = page.evaluate("Object.fromEntries(new FormData(document.querySelector('main form')))")
    page.get_by_role("button", name="Buy now").click()
    page.get_by_role("heading", name="Thank you for your order").wait_for()
    order_ref = page.locator(".order-ref").inner_text()

    page.go_back()
    assert page.get_by_role("heading", name="This order has been placed").is_visible()
    assert order_ref in page.locator("main").inner_text()
    assert page.get_by_role("button", name="Buy now").count() == 0

    again = page.request.post(f"{server.base_url}/shop/checkout", form=sent)  # a double send
    assert again.url.endswith(f"/shop/orders/{order_ref}?lang=en")
    wait_for(lambda: mails_to(server, "alan.turing@example.org") != [], "the confirmation")
    assert len(mails_to(server, "alan.turing@example.org")) == 1


# --- defect 3: forms keep input and tie errors to fields ---------------------------------


@pytest.mark.parametrize("lang", ["en", "de"])
def test_the_request_form_keeps_what_was_typed_and_names_the_field(
    server: DemoServer, desktop: Page, lang: str
) -> None:
    page = desktop
    page.goto(f"{server.base_url}/requests/new?lang={lang}")
    page.select_option("#kind", "erasure")
    page.fill("#email", "not-an-address")
    page.fill("#details", "Please delete my customer account.")
    page.locator("main form button[type=submit]").click()

    email = page.locator("#email")
    assert email.get_attribute("aria-invalid") == "true"
    error_id = (email.get_attribute("aria-describedby") or "").split()[-1]
    assert page.locator(f"#{error_id}").is_visible()
    assert email.input_value() == "not-an-address"
    assert page.input_value("#details") == "Please delete my customer account."
    assert page.locator("#kind").input_value() == "erasure"


def test_the_sign_in_form_keeps_the_address_and_names_the_field(
    server: DemoServer, desktop: Page
) -> None:
    desktop.goto(f"{server.base_url}/account")
    desktop.fill("#email", "ada.lovelace@example")
    desktop.locator("main form button[type=submit]").click()

    email = desktop.locator("#email")
    assert email.input_value() == "ada.lovelace@example"
    assert email.get_attribute("aria-invalid") == "true"
    assert desktop.locator("#email-error").is_visible()
    assert "email-error" in (email.get_attribute("aria-describedby") or "")


def test_an_over_long_message_is_refused_whole_with_the_limit_named(
    server: DemoServer, desktop: Page
) -> None:
    page = desktop
    page.goto(f"{server.base_url}/contact")
    assert "5000" in page.locator("#message-hint").inner_text()
    page.fill("#email", "reader@example.org")
    page.fill("#message", "x" * 10_000)
    assert len(page.input_value("#message")) == 10_000  # the browser cuts nothing
    page.get_by_role("button", name="Send").click()

    assert page.locator("#message").get_attribute("aria-invalid") == "true"
    assert "10000" in page.locator("#message-error").inner_text()
    assert len(page.input_value("#message")) == 10_000
    assert page.input_value("#email") == "reader@example.org"


# --- defects 4 and 5: the privacy centre --------------------------------------------------


def test_the_centre_tells_agreement_from_objection_and_honours_the_browser(
    server: DemoServer, desktop: Page
) -> None:
    page = desktop
    page.goto(f"{server.base_url}/privacy")
    page.get_by_role("button", name="Reject all").click()
    sign_in(page, server)

    agreed = page.locator("#agreed").inner_text()
    may_object = page.locator("#object").inner_text()
    assert "Web analytics" not in agreed
    assert "Offers that suit you" not in agreed
    assert "You have not agreed to anything" in agreed
    assert "Web analytics" in may_object
    assert "Not in this browser: you rejected analytics cookies." in may_object
    assert " on" not in may_object.lower().replace("once", "")
    received = page.locator("#received").inner_text()
    assert ADA_ORDER in received  # who received her data, for which order

    page.locator("#object li", has_text="Offers that suit you").get_by_role("button").click()
    page.wait_for_url("**done=consent**")
    assert "Offers that suit you" in page.locator("#object h3 + ul").inner_text()
    assert "Offers that suit you" not in page.locator("#agreed").inner_text()


def test_erasure_asks_first_and_the_download_is_one_copy(server: DemoServer, desktop: Page) -> None:
    page = desktop
    sign_in(page, server)
    sign_out = page.get_by_role("button", name="Sign out")
    erase = page.get_by_role("button", name="Erase my data…")
    out_box, erase_box = sign_out.bounding_box(), erase.bounding_box()
    assert out_box is not None
    assert erase_box is not None
    assert abs(erase_box["y"] - out_box["y"]) > 300  # far apart, not one above the other

    accesses = count_requests(server, "access")
    for _ in range(2):
        with page.expect_download() as download:
            page.get_by_role("button", name="Download my data").click()
        saved = Path(download.value.path())
        assert json.loads(saved.read_text())["personal_data"]
    assert count_requests(server, "access") == accesses + 1  # one request for two clicks

    erasures = count_requests(server, "erasure")
    erase.click()
    assert page.get_by_role("heading", name="Erase my data?").is_visible()
    assert count_requests(server, "erasure") == erasures  # nothing asked yet
    page.get_by_role("link", name="No, keep my data").click()
    assert count_requests(server, "erasure") == erasures
    page.get_by_role("button", name="Erase my data…").click()
    page.get_by_role("button", name="Yes, erase my data").click()
    assert page.get_by_role("status").is_visible()
    assert count_requests(server, "erasure") == erasures + 1


# --- defect 9, public parts ---------------------------------------------------------------


def test_the_favicon_is_served_small_and_cached(server: DemoServer, desktop: Page) -> None:
    answer = desktop.request.get(f"{server.base_url}/favicon.ico")
    assert answer.status == 200
    assert answer.headers["content-type"] == "image/x-icon"
    assert "max-age" in answer.headers["cache-control"]
    assert 0 < len(answer.body()) < 5_000


def test_the_policy_tables_scroll_by_keyboard_on_a_phone(server: DemoServer, phone: Page) -> None:
    phone.goto(f"{server.base_url}/privacy")
    regions = phone.locator(".table-scroll")
    assert regions.count() >= 1
    for i in range(regions.count()):
        region = regions.nth(i)
        assert region.get_attribute("tabindex") == "0"
        assert region.get_attribute("role") == "region"
        assert region.get_attribute("aria-label")


def test_every_public_page_has_the_small_header(server: DemoServer, desktop: Page) -> None:
    for lang, names in {
        "en": ["Privacy", "Cookies", "Newsletter", "My privacy centre", "Contact"],
        "de": ["Datenschutz", "Cookies", "Newsletter", "Mein Datenschutz-Center", "Kontakt"],
    }.items():
        for path in ("/privacy", "/contact", "/requests/new"):
            desktop.goto(f"{server.base_url}{path}?lang={lang}")
            nav = desktop.get_by_role("navigation", name="Main" if lang == "en" else "Hauptmenü")
            for name in names:
                assert nav.get_by_role("link", name=name, exact=True).is_visible(), (path, name)
