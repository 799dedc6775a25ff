"""The demo shop over real HTTP: cart without cookies, checkout through the public API, and
the sandbox processors showing what they received (carrier and payment provider)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from disclosures.demo_server import DemoServer, demo_server  # tests/ is on sys.path (conftest)

pytestmark = pytest.mark.slow

CUSTOMER = {
    "name": "Ada Lovelace",
    "email": "ada.lovelace@example.org",
    "street": "Hansaallee 299",
    "postal_code": "40549",
    "city": "Düsseldorf",
    "country": "DE",
    "method": "card",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    with demo_server(tmp_path_factory.mktemp("shop")) as running:
        yield running


@pytest.fixture
def browser(server: DemoServer) -> Iterator[httpx.Client]:
    """A visitor without cookies: the client would keep any cookie, and none must come."""
    with httpx.Client(base_url=server.base_url, follow_redirects=True, timeout=20) as client:
        yield client


def _cart_token(html: str) -> str:
    found = re.search(r'name="cart" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


def _buy(browser: httpx.Client, sku: str = "CL390", **changes: str) -> httpx.Response:
    shop = browser.get("/shop")
    cart = browser.post("/shop/cart", data={"sku": sku, "cart": _cart_token(shop.text)})
    token = _cart_token(cart.text)
    browser.get(f"/shop/checkout?cart={token}")
    return browser.post("/shop/checkout", data={"cart": token, **CUSTOMER, **changes})


def _wait_for_sandbox(browser: httpx.Client, order_ref: str, count: int = 3) -> str:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        page = browser.get(f"/sandbox?order={order_ref}").text
        if page.count(f'data-order="{order_ref}"') >= count:
            return page
        time.sleep(0.2)
    pytest.fail("the sandbox did not receive the deliveries")


def test_the_catalogue_lists_gigaset_phones_and_sets_no_cookie(browser: httpx.Client) -> None:
    page = browser.get("/shop")

    assert page.status_code == 200
    assert "Gigaset CL390" in page.text
    assert "set-cookie" not in page.headers
    assert not browser.cookies


def test_the_cart_lives_in_a_signed_token_that_cannot_be_forged(browser: httpx.Client) -> None:
    shop = browser.get("/shop")
    cart = browser.post("/shop/cart", data={"sku": "GS5", "cart": _cart_token(shop.text)})
    assert "Gigaset GS5" in cart.text
    assert "€253.99" in cart.text  # 249.00 + 4.99 shipping, written the English way

    forged = browser.get("/shop/cart?cart=eyJHUzUiOjl9.forged")
    assert "Gigaset GS5" not in forged.text
    assert not browser.cookies


def test_checkout_places_the_order_and_the_processors_get_only_their_fields(
    browser: httpx.Client, server: DemoServer
) -> None:
    placed = _buy(browser)

    assert placed.status_code == 200, placed.text
    order_ref = Path(placed.url.path).name
    assert order_ref.startswith("GS-")
    assert "Freight carriers" in placed.text
    assert "Ada" not in placed.text  # the thank-you page shows categories, not data

    page = _wait_for_sandbox(browser, order_ref)
    carrier, psp, bank = (
        page.split('id="freight_carrier"')[1].split('id="payment_service_provider"')[0],
        page.split('id="payment_service_provider"')[1].split('id="bank"')[0],
        page.split('id="bank"')[1],
    )
    assert "Ada Lovelace" in carrier
    assert "Hansaallee 299" in carrier
    assert "PAY-" not in carrier
    assert "PAY-" in psp
    assert "44.98" in psp
    assert "Ada Lovelace" not in psp
    assert "Hansaallee" not in psp
    assert "Ada Lovelace" in bank
    assert "Hansaallee" not in bank
    assert "signature valid" in page

    dpo = httpx.get(
        f"{server.base_url}/api/v1/orders/{order_ref}/disclosures",
        headers={"Authorization": f"Bearer {server.dpo_key}"},
    ).json()["disclosures"]
    assert {d["status"] for d in dpo} == {"delivered"}
    carrier_payload = next(d for d in dpo if d["recipient"] == "freight_carrier")["payload"]
    assert set(carrier_payload["data"]) == {"order_ref", "name", "postal_address"}
    assert not browser.cookies


def test_checkout_delivers_to_the_typed_address_and_keeps_no_address_in_the_vault(
    browser: httpx.Client, server: DemoServer
) -> None:
    first = _buy(browser)
    assert first.status_code == 200, first.text
    moved = _buy(browser, street="Königsallee 1", postal_code="40212")
    assert moved.status_code == 200, moved.text
    order_ref = Path(moved.url.path).name

    page = _wait_for_sandbox(browser, order_ref)
    carrier = page.split('id="freight_carrier"')[1].split('id="payment_service_provider"')[0]
    mine = carrier.split(f'data-order="{order_ref}"')[1].split("<article")[0]
    assert "Königsallee 1" in mine
    assert "Hansaallee" not in mine
    subject = httpx.post(
        f"{server.base_url}/api/v1/subjects/lookup",
        json={"email": CUSTOMER["email"]},
        headers={"Authorization": f"Bearer {server.shop_key}"},
    ).json()["subject_id"]
    held = httpx.get(
        f"{server.base_url}/api/v1/subjects/{subject}?purpose=order_processing",
        headers={"Authorization": f"Bearer {server.shop_key}"},
    ).json()["data"]
    # The address travels with each order alone: a checkout adds none to the customer's
    # record, so none typed by someone else can end up there.
    assert "postal_address" not in held
    assert held["name"] == "Ada Lovelace"


def test_missing_fields_are_asked_for_again_without_an_order(browser: httpx.Client) -> None:
    answer = _buy(browser, street="")

    assert answer.status_code == 422
    assert "Please correct the marked fields" in answer.text
    assert 'value="Ada Lovelace"' in answer.text  # what was typed stays in the form
    assert 'id="street-error"' in answer.text


def test_data_the_api_refuses_comes_back_as_a_friendly_message(browser: httpx.Client) -> None:
    answer = _buy(browser, email="a@b")

    assert answer.status_code == 422
    assert "complete e-mail address" in answer.text
    assert 'value="a@b"' in answer.text
    assert 'name="cart" value=""' not in answer.text  # the cart stays


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "N" * 201, "at most 200 characters"),
        ("street", "S" * 201, "at most 200 characters"),
        ("city", "C" * 101, "at most 100 characters"),
        ("postal_code", "4054", "not a postal code"),
    ],
)
def test_a_refused_entry_is_named_next_to_its_field_and_nothing_is_lost(
    browser: httpx.Client, field: str, value: str, message: str
) -> None:
    answer = _buy(browser, **{field: value})

    assert answer.status_code == 422
    assert message in answer.text
    assert f'id="{field}-error"' in answer.text
    assert 'aria-invalid="true"' in answer.text
    assert f'value="{value}"' in answer.text
    assert "Gigaset CL390" in answer.text  # the cart is still there


def test_the_same_checkout_form_sent_twice_places_one_order(browser: httpx.Client) -> None:
    shop = browser.get("/shop")
    cart = _cart_token(
        browser.post("/shop/cart", data={"sku": "A690", "cart": _cart_token(shop.text)}).text
    )
    form = browser.get(f"/shop/checkout?cart={cart}")
    order = re.search(r'name="order" value="(GS-[0-9A-F]+)"', form.text)
    assert order, form.text
    first = browser.post("/shop/checkout", data={"cart": cart, "order": order.group(1), **CUSTOMER})
    again = browser.post("/shop/checkout", data={"cart": cart, "order": order.group(1), **CUSTOMER})

    assert first.url == again.url
    assert order.group(1) in str(first.url)
    assert "This order has been placed" in browser.get(str(form.url)).text


def test_the_shop_and_sandbox_speak_german(browser: httpx.Client) -> None:
    assert "Gigaset-Telefone" in browser.get("/shop?lang=de").text
    assert "Was die Auftragsverarbeiter erhalten haben" in browser.get("/sandbox?lang=de").text


def test_the_sandbox_refuses_a_forged_delivery(browser: httpx.Client) -> None:
    answer = browser.post(
        "/sandbox/freight_carrier/webhook",
        content=b'{"data":{"order_ref":"GS-X"}}',
        headers={"Schutz-Signature": "t=1,v1=00", "Idempotency-Key": "x"},
    )
    assert answer.status_code == 401
    assert 'data-order="GS-X"' not in browser.get("/sandbox").text
