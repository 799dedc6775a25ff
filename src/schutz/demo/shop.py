"""The demo shop under `/shop`: a few Gigaset phones, a cart, a checkout; served in demo mode.

It is a client of Schutz like any real shop: it holds no personal data itself and talks to
Schutz only through the public API over HTTP with its API key (`POST /api/v1/subjects`
with source `order`, then `POST /api/v1/orders`). The address typed at checkout goes with
the order as its `delivery_address`: a known customer's stored address is never rewritten
by a checkout (anyone can type anyone's e-mail address), yet the parcel goes where this
customer asked. The cart lives in a signed form field or
query parameter, so the shop sets no cookie (C16). The checkout asks only for what delivery
and payment need, plus the e-mail address the order confirmation goes to (§312i(1) BGB).
"""

from __future__ import annotations

import json
import secrets
import urllib.error
import urllib.request
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException
from itsdangerous import BadSignature, URLSafeSerializer
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from schutz.clock import utcnow
from schutz.config import Settings
from schutz.demo.catalogue import CATALOGUE, PRODUCTS, Product
from schutz.demo.checkout import (
    COUNTRIES,
    LIMITS,
    PAYMENT_METHODS,
    cleaned,
    field_errors,
    new_order_ref,
    order_ref_of,
)
from schutz.disclosures.service import ORDER_REF
from schutz.web.deps import LangDep, SettingsDep, signing_secret
from schutz.web.templating import render

router = APIRouter(prefix="/shop", include_in_schema=False)

CREDENTIALS_FILE = "demo-credentials.json"
SHIPPING = Decimal("4.99")
CURRENCY = "EUR"
MAX_QUANTITY = 9
API_TIMEOUT = 10.0
NO_KEY = "the demo shop has no API key; start Schutz with schutz serve --demo"


# --- the cart, carried in a signed token -------------------------------------------------


def _serializer(request: Request) -> URLSafeSerializer:
    # Built per use: the accepted secrets change when one is rotated or its grace ends.
    return URLSafeSerializer(signing_secret(request), salt="schutz.shop.cart")


def read_cart(request: Request, token: str | None) -> dict[str, int]:
    """The cart in `token`: {sku: quantity}; a forged or stale token is an empty cart."""
    if not token:
        return {}
    try:
        raw = _serializer(request).loads(token)
    except BadSignature:
        return {}
    if not isinstance(raw, dict):
        return {}
    return {
        sku: min(int(qty), MAX_QUANTITY)
        for sku, qty in raw.items()
        if sku in PRODUCTS and isinstance(qty, int) and qty > 0
    }


def cart_token(request: Request, cart: dict[str, int]) -> str:
    return str(_serializer(request).dumps(dict(sorted(cart.items()))))


@dataclass(frozen=True, slots=True)
class Line:
    product: Product
    quantity: int

    @property
    def amount(self) -> Decimal:
        return self.product.price * self.quantity


def _lines(cart: dict[str, int]) -> list[Line]:
    return [Line(PRODUCTS[sku], qty) for sku, qty in cart.items()]


def _totals(lines: list[Line]) -> dict[str, Decimal]:
    subtotal = sum((line.amount for line in lines), Decimal("0"))
    shipping = SHIPPING if lines else Decimal("0")
    return {"subtotal": subtotal, "shipping": shipping, "total": subtotal + shipping}


def _page(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    response = render(request, name, {"currency": CURRENCY, **context}, status_code=status)
    response.headers["Cache-Control"] = "no-store"
    return response


# --- talking to Schutz over HTTP, exactly like a real shop -------------------------------


class ApiError(Exception):
    def __init__(self, status: int, detail: Any) -> None:
        super().__init__(f"Schutz answered {status}")
        self.status = status
        self.detail = detail


def _api_key(request: Request, settings: Settings) -> str:
    key: str | None = getattr(request.app.state, "shop_api_key", None)
    if key:
        return key
    path = settings.data_dir / CREDENTIALS_FILE
    try:
        creds = json.loads(path.read_text())
    except (OSError, ValueError):
        raise HTTPException(
            503, "the demo shop has no API key; start with schutz serve --demo"
        ) from None
    found = creds.get("shop_api_key") if isinstance(creds, dict) else None
    if not isinstance(found, str):
        raise HTTPException(503, NO_KEY)
    return found


def call_api(
    request: Request, settings: Settings, method: str, path: str, body: dict[str, Any] | None = None
) -> dict[str, Any]:
    """One request to Schutz's public API at `settings.base_url`; `ApiError` on 4xx/5xx."""
    data = None if body is None else json.dumps(body).encode("utf-8")
    outgoing = urllib.request.Request(  # noqa: S310 - our own configured base URL
        settings.base_url.rstrip("/") + path,
        data=data,
        method=method,
        headers={
            "Authorization": f"Bearer {_api_key(request, settings)}",
            "Content-Type": "application/json",
            "Accept": "application/json",
        },
    )
    try:
        with urllib.request.urlopen(outgoing, timeout=API_TIMEOUT) as answer:  # noqa: S310
            parsed: dict[str, Any] = json.loads(answer.read() or b"{}")
            return parsed
    except urllib.error.HTTPError as exc:
        try:
            detail = json.loads(exc.read() or b"{}").get("detail")
        except ValueError:
            detail = None
        raise ApiError(exc.code, detail) from None
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        raise ApiError(503, f"Schutz cannot be reached ({type(exc).__name__})") from None


# --- pages -------------------------------------------------------------------------------


@router.get("")
def catalogue(request: Request, lang: LangDep, cart: str = "") -> Response:
    items = read_cart(request, cart)
    return _page(
        request,
        "shop/catalogue.html",
        {"products": CATALOGUE, "cart": cart_token(request, items), "count": sum(items.values())},
    )


@router.post("/cart")
def change_cart(
    request: Request,
    lang: LangDep,
    sku: Annotated[str, Form()],
    cart: Annotated[str, Form()] = "",
    quantity: Annotated[int, Form(ge=0, le=MAX_QUANTITY)] = 1,
    replace: Annotated[bool, Form()] = False,
) -> Response:
    """Add (or, with `replace`, set) a product's quantity; the new cart goes in the URL."""
    if sku not in PRODUCTS:
        raise HTTPException(404, "no such product")
    items = read_cart(request, cart)
    wanted = quantity if replace else items.get(sku, 0) + quantity
    if wanted <= 0:
        items.pop(sku, None)
    else:
        items[sku] = min(wanted, MAX_QUANTITY)
    return RedirectResponse(
        f"/shop/cart?cart={cart_token(request, items)}&lang={lang}", status_code=303
    )


@router.get("/cart")
def show_cart(request: Request, lang: LangDep, cart: str = "") -> Response:
    lines = _lines(read_cart(request, cart))
    return _page(
        request,
        "shop/cart.html",
        {"lines": lines, "cart": cart, **_totals(lines)},
    )


def _checkout_page(
    request: Request,
    cart: str,
    form: dict[str, str],
    errors: dict[str, str] | None = None,
    *,
    order_ref: str = "",
    problem: str | None = None,
    status: int = 200,
) -> Response:
    lines = _lines(read_cart(request, cart))
    return _page(
        request,
        "shop/checkout.html",
        {
            "lines": lines,
            "cart": cart,
            "form": form,
            "errors": errors or {},
            "problem": problem,
            "order_ref": order_ref,
            "limits": LIMITS,
            "countries": COUNTRIES,
            "methods": PAYMENT_METHODS,
            **_totals(lines),
        },
        status=status,
    )


def _order_exists(request: Request, settings: Settings, order_ref: str) -> bool:
    try:
        call_api(request, settings, "GET", f"/api/v1/orders/{order_ref}/disclosures")
    except ApiError as exc:
        if exc.status == 404:
            return False
        raise
    return True


@router.get("/checkout")
def checkout_form(
    request: Request, settings: SettingsDep, lang: LangDep, cart: str = "", order: str = ""
) -> Response:
    """The form; first opened, it is given its order reference in the URL, so that Back
    and reload come to the same order (placed at most once)."""
    if not read_cart(request, cart):
        return RedirectResponse(f"/shop?lang={lang}", status_code=303)
    order_ref = order_ref_of(order)
    if order_ref is None:
        target = f"/shop/checkout?cart={cart}&order={new_order_ref()}&lang={lang}"
        return RedirectResponse(target, status_code=303)
    try:
        placed = _order_exists(request, settings, order_ref)
    except ApiError:
        placed = False
    if placed:
        return _page(request, "shop/already_placed.html", {"order_ref": order_ref, "cart": ""})
    form = {"country": "DE", "method": "card"}
    return _checkout_page(request, cart, form, order_ref=order_ref)


def _place_order(
    request: Request, settings: Settings, form: dict[str, str], lines: list[Line], order_ref: str,
    lang: str,
) -> None:  # fmt: skip
    """Store the customer through the API (source `order`), then place the order."""
    address = {k: form[k] for k in ("street", "postal_code", "city", "country")}
    subject = call_api(
        request,
        settings,
        "POST",
        "/api/v1/subjects",
        {
            "source": "order",
            "purposes": ["order_processing", "billing"],
            # The address goes with the order alone: the vault keeps no copy it does not
            # need, and a checkout never adds an address to a known customer's record.
            "data": {"email": form["email"], "name": form["name"]},
        },
    )
    call_api(
        request,
        settings,
        "POST",
        "/api/v1/orders",
        {
            "subject_id": subject["subject_id"],
            "order_ref": order_ref,
            "items": [
                {
                    "sku": line.product.sku,
                    "name": line.product.name,
                    "quantity": line.quantity,
                    "unit_price": str(line.product.price),
                }
                for line in lines
            ],
            "total": str(_totals(lines)["total"]),
            "currency": CURRENCY,
            # A real shop gets this reference from its payment provider's checkout.
            "payment": {"method": form["method"], "reference": f"PAY-{secrets.token_hex(6)}"},
            "delivery_address": address,
            # The confirmation the checkout promises (§312i(1) BGB), sent by Schutz's outbox.
            "confirmation": {"lang": lang},
        },
    )


@router.post("/checkout")
def checkout(
    request: Request,
    settings: SettingsDep,
    lang: LangDep,
    cart: Annotated[str, Form()] = "",
    order: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    email: Annotated[str, Form()] = "",
    street: Annotated[str, Form()] = "",
    postal_code: Annotated[str, Form()] = "",
    city: Annotated[str, Form()] = "",
    country: Annotated[str, Form()] = "DE",
    method: Annotated[str, Form()] = "card",
) -> Response:
    """Store the customer's data for the order through the API, then place the order.

    A refused entry answers 422 with the form as it was sent; the same order reference sent
    again leads to the order already placed."""
    form = cleaned(
        {"name": name, "email": email, "street": street, "postal_code": postal_code,
         "city": city, "country": country, "method": method}
    )  # fmt: skip
    lines = _lines(read_cart(request, cart))
    if not lines:
        return RedirectResponse(f"/shop?lang={lang}", status_code=303)
    order_ref = order_ref_of(order) or new_order_ref()
    placed = f"/shop/orders/{order_ref}?lang={lang}"
    errors = field_errors(form)
    if errors:
        return _checkout_page(request, cart, form, errors, order_ref=order_ref, status=422)
    try:
        if not _order_exists(request, settings, order_ref):
            _place_order(request, settings, form, lines, order_ref, lang)
    except ApiError as exc:
        if exc.status == 409:  # this reference was placed with other contents: it stands
            return RedirectResponse(placed, status_code=303)
        problem = "invalid" if exc.status == 422 else "unavailable"
        return _checkout_page(
            request, cart, form, order_ref=order_ref, problem=problem, status=exc.status
        )
    return RedirectResponse(placed, status_code=303)


@router.get("/orders/{order_ref}")
def order_placed(
    request: Request, order_ref: str, settings: SettingsDep, lang: LangDep
) -> Response:
    """Thank-you page: which recipients receive which categories (no personal data shown)."""
    if not ORDER_REF.fullmatch(order_ref):
        raise HTTPException(404, "no such order")
    try:
        found = call_api(request, settings, "GET", f"/api/v1/orders/{order_ref}/disclosures")
    except ApiError as exc:
        raise HTTPException(404 if exc.status == 404 else 503, "no such order") from None
    policy = request.app.state.policies.in_force(utcnow().date())
    return _page(
        request,
        "shop/placed.html",
        {"order_ref": order_ref, "disclosures": found["disclosures"], "policy": policy},
    )
