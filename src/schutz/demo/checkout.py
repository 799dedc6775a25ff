"""The demo checkout's form rules: what each field may hold, and the order's one-time reference.

A refused entry comes back with the page, every entry and the cart kept, and an error code
per field that the template turns into words next to that field. The order reference is
chosen when the checkout page is first opened and travels in its URL and form: sending the
same form twice (Back, reload, a double click) names the same order, which the orders API
answers idempotently, so it is placed once.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping

from email_validator import EmailNotValidError, validate_email

COUNTRIES = ("DE", "AT", "CH", "NL", "FR", "BE", "LU", "DK")
PAYMENT_METHODS = ("card", "paypal", "invoice")
LIMITS = {"name": 200, "email": 320, "street": 200, "postal_code": 10, "city": 100}
"""Longest entry per field, in characters: the form's `maxlength` and the server's check."""
REQUIRED = ("name", "street", "postal_code", "city", "email")
POSTAL_CODES = {
    "DE": re.compile(r"\d{5}"),
    "AT": re.compile(r"\d{4}"),
    "CH": re.compile(r"\d{4}"),
    "NL": re.compile(r"\d{4} ?[A-Za-z]{2}"),
    "FR": re.compile(r"\d{5}"),
    "BE": re.compile(r"\d{4}"),
    "LU": re.compile(r"(L-)?\d{4}"),
    "DK": re.compile(r"\d{4}"),
}
ORDER_TOKEN = re.compile(r"GS-[0-9A-F]{10}")


def new_order_ref() -> str:
    """A fresh order reference, chosen before the order exists (unguessable, 40 bits)."""
    return f"GS-{secrets.token_hex(5).upper()}"


def order_ref_of(token: str) -> str | None:
    """The order reference a checkout form carries, or None for none or a malformed one."""
    return token if ORDER_TOKEN.fullmatch(token) else None


def cleaned(raw: Mapping[str, str]) -> dict[str, str]:
    """The form's entries trimmed; an unknown country or payment method becomes the default."""
    form = {key: (raw.get(key) or "").strip() for key in LIMITS}
    country = raw.get("country") or ""
    method = raw.get("method") or ""
    form["country"] = country if country in COUNTRIES else "DE"
    form["method"] = method if method in PAYMENT_METHODS else "card"
    return form


def field_errors(form: Mapping[str, str]) -> dict[str, str]:
    """{field: "missing" | "too_long" | "invalid"} for each entry that cannot be accepted."""
    errors: dict[str, str] = {}
    for key in REQUIRED:
        if not form[key]:
            errors[key] = "missing"
        elif len(form[key]) > LIMITS[key]:
            errors[key] = "too_long"
    if "postal_code" not in errors:
        pattern = POSTAL_CODES[form["country"]]
        if not pattern.fullmatch(form["postal_code"]):
            errors["postal_code"] = "invalid"
    if "email" not in errors:
        try:
            validate_email(form["email"], check_deliverability=False)
        except EmailNotValidError:
            errors["email"] = "invalid"
    return errors
