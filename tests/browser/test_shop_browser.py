"""A newcomer buys a phone in the demo shop with Chromium and sees, side by side, what the
carrier and the payment provider received. Screenshots go to SCHUTZ_SCREENSHOTS (or tmp)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from disclosures.demo_server import DemoServer, demo_server  # tests/ is on sys.path (conftest)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TEXT = {
    "en": {"add": "Add to cart", "checkout": "Go to checkout", "buy": "Buy now",
           "see": "See what the carrier and the payment provider received",
           "name": "Name", "street": "Street and house number", "postal": "Postal code",
           "city": "City", "email": "E-mail address", "thanks": "Thank you for your order"},
    "de": {"add": "In den Warenkorb", "checkout": "Zur Kasse", "buy": "Zahlungspflichtig bestellen",
           "see": "Ansehen, was Versand- und Zahlungsdienstleister erhalten haben",
           "name": "Name", "street": "Straße und Hausnummer", "postal": "Postleitzahl",
           "city": "Ort", "email": "E-Mail-Adresse", "thanks": "Vielen Dank für Ihre Bestellung"},
}  # fmt: skip


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    with demo_server(tmp_path_factory.mktemp("shop-browser")) as running:
        yield running


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    target = Path(os.environ.get("SCHUTZ_SCREENSHOTS", tmp_path))
    target.mkdir(parents=True, exist_ok=True)
    return target


@pytest.fixture
def wide_page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(locale="en-GB", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    context.close()


@pytest.mark.parametrize("lang", ["en", "de"])
def test_buying_a_phone_shows_what_each_processor_received(
    wide_page: Page, server: DemoServer, shots: Path, lang: str
) -> None:
    page, text = wide_page, TEXT[lang]
    outside: list[str] = []
    page.on(
        "request",
        lambda r: outside.append(r.url) if not r.url.startswith(server.base_url) else None,
    )

    page.goto(f"{server.base_url}/shop?lang={lang}")
    page.screenshot(path=str(shots / f"shop-{lang}-1-catalogue.png"), full_page=True)
    page.get_by_role("button", name=re.compile(f"^{text['add']}.*Gigaset CL390$")).click()
    page.get_by_role("link", name=text["checkout"]).click()
    page.get_by_label(text["name"], exact=True).fill("Ada Lovelace")
    page.get_by_label(text["street"]).fill("Hansaallee 299")
    page.get_by_label(text["postal"]).fill("40549")
    page.get_by_label(text["city"]).fill("Düsseldorf")
    page.get_by_label(text["email"]).fill(f"ada.{lang}@example.org")
    page.screenshot(path=str(shots / f"shop-{lang}-2-checkout.png"), full_page=True)
    page.get_by_role("button", name=text["buy"]).click()

    expect(page.locator("h1")).to_have_text(text["thanks"])
    order_ref = page.locator("code.order-ref").inner_text()
    page.screenshot(path=str(shots / f"shop-{lang}-3-placed.png"), full_page=True)

    page.get_by_role("link", name=text["see"]).click()
    receipts = page.locator(f'article.receipt[data-order="{order_ref}"]')
    for _ in range(50):
        if receipts.count() >= 3:
            break
        page.wait_for_timeout(200)
        page.reload()
    assert receipts.count() == 3
    page.screenshot(path=str(shots / f"shop-{lang}-4-sandbox.png"), full_page=True)

    carrier = page.locator("#freight_carrier").locator(f'[data-order="{order_ref}"]').inner_text()
    psp = page.locator("#payment_service_provider").locator(f'[data-order="{order_ref}"]')
    assert "Ada Lovelace" in carrier
    assert "Hansaallee 299" in carrier
    assert "PAY-" not in carrier
    assert "PAY-" in psp.inner_text()
    assert "Hansaallee" not in psp.inner_text()
    assert "Ada" not in psp.inner_text()
    assert outside == []
    assert page.context.cookies() == []
