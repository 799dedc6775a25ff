"""Checking and normalising personal fields at intake: e-mail, phone, name, postal address.

Values are checked with well-kept libraries (email-validator, phonenumbers, pycountry) so
that what we store is accurate (Art. 5(1)(d) GDPR). Messages name the field, never echo the
value: an error response or log line must not carry personal data.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

import phonenumbers
import pycountry
from email_validator import EmailNotValidError, validate_email

from schutz.errors import InvalidInput

if TYPE_CHECKING:
    from schutz.policy.custom import CustomField

MAX_LENGTH = {"name": 200, "postal_address.street": 200, "postal_address.city": 100}
_DEFAULT_REGION = "DE"
# Postal-code shapes for the countries the shop ships to most; others are checked for length.
_POSTAL_CODES = {
    "DE": r"\d{5}",
    "AT": r"\d{4}",
    "CH": r"\d{4}",
    "FR": r"\d{5}",
    "NL": r"\d{4} ?[A-Z]{2}",
    "IT": r"\d{5}",
    "ES": r"\d{5}",
    "PL": r"\d{2}-\d{3}",
    "US": r"\d{5}(-\d{4})?",
    "GB": r"[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}",
}


def normalise_email(value: str) -> str:
    """The canonical form used for storage and the blind index (lower-cased, IDNA-normal).

    Local parts are case-sensitive in RFC 5321 but no mailbox provider we know treats them
    so; folding case makes `Ada@x.de` and `ada@x.de` one subject.
    """
    try:
        result = validate_email(value.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidInput(f"email: not a valid e-mail address ({_reason(exc)})") from None
    return result.normalized.lower()


def _reason(exc: EmailNotValidError) -> str:
    # email-validator's messages describe the shape of the problem; some quote the address.
    text = str(exc)
    return text.split(":")[0].rstrip(".") if "@" in text else text.rstrip(".")


def _country(value: str) -> str:
    text = value.strip()
    try:
        country = pycountry.countries.lookup(text)
    except LookupError:
        raise InvalidInput(
            "postal_address.country: unknown country; use an ISO 3166 code such as DE"
        ) from None
    return str(country.alpha_2)


def _phone(value: str, region: str) -> str:
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        raise InvalidInput("phone: not a telephone number") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidInput("phone: not a valid telephone number for its country") from None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _postal_code(value: str, country: str | None) -> str:
    code = " ".join(value.split()).upper()
    pattern = _POSTAL_CODES.get(country or "")
    if pattern is not None and not re.fullmatch(pattern, code):
        raise InvalidInput(f"postal_address.postal_code: not a postal code of {country}")
    if not code or len(code) > 12:
        raise InvalidInput("postal_address.postal_code: must be 1 to 12 characters")
    return code


def normalise_fields(
    data: Mapping[str, str], custom: Mapping[str, CustomField] | None = None
) -> dict[str, str]:
    """Check and normalise flattened fields (`email`, `postal_address.city`, ...).

    `custom` are the policy's own fields (`custom_fields`): their values are text with
    whitespace collapsed, checked against the length and form the policy sets. Every
    problem is collected, so one answer names all fields that need fixing.
    """
    custom = custom or {}
    out: dict[str, str] = {}
    problems: list[str] = []
    country = None
    if "postal_address.country" in data:
        try:
            country = out["postal_address.country"] = _country(data["postal_address.country"])
        except InvalidInput as exc:
            problems.append(str(exc))
    for name, value in data.items():
        if name == "postal_address.country":
            continue
        try:
            _encodable(name, value)
            spec = custom.get(name)
            out[name] = (
                _normalise_custom(name, value, spec)
                if spec is not None
                else _normalise_one(name, value, country)
            )
        except InvalidInput as exc:
            problems.append(str(exc))
    if problems:
        raise InvalidInput("; ".join(problems))
    return out


def _encodable(name: str, value: str) -> None:
    """Refuse text UTF-8 cannot carry (a lone surrogate that JSON's `\\ud800` can smuggle)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput(f"{name}: contains a character that is not text") from None


def _normalise_custom(name: str, value: str, spec: CustomField) -> str:
    text = " ".join(value.split())
    problem = spec.refusal(name, text)
    if problem is not None:
        raise InvalidInput(problem)
    return text


def _normalise_one(name: str, value: str, country: str | None) -> str:
    if name == "email":
        return normalise_email(value)
    if name == "phone":
        return _phone(value, country or _DEFAULT_REGION)
    if name == "postal_address.postal_code":
        return _postal_code(value, country)
    text = " ".join(value.split())
    if not text:
        raise InvalidInput(f"{name}: must not be empty")
    limit = MAX_LENGTH.get(name, 200)
    if len(text) > limit:
        raise InvalidInput(f"{name}: longer than {limit} characters")
    return text
