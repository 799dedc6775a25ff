"""Holding one `Set-Cookie` header (RFC 6265 §4.1) against the registry.

Pure: a header string in, a decision out. The middleware in `schutz.web.cookie_guard`
applies it to every response.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from schutz.cookies.registry import Registry

LIFETIME_ATTRIBUTES = ("max-age", "expires")


class Verdict(StrEnum):
    KEEP = "keep"
    REWRITE = "rewrite"
    DROP_UNDECLARED = "undeclared"
    DROP_NO_CONSENT = "no_consent"


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    name: str
    header: str | None
    """The header to send (None when dropped)."""


def parse(header: str) -> tuple[str, str, list[tuple[str, str | None]]]:
    """(name, value, [(attribute lower-cased, value or None)]) of a Set-Cookie header."""
    pair, *rest = header.split(";")
    name, _, value = pair.partition("=")
    attrs: list[tuple[str, str | None]] = []
    for part in rest:
        key, eq, val = part.strip().partition("=")
        if key:
            attrs.append((key.lower(), val.strip() if eq else None))
    return name.strip(), value.strip(), attrs


def _original_case(header: str) -> dict[str, str]:
    names = {}
    for part in header.split(";")[1:]:
        key = part.strip().partition("=")[0]
        names[key.lower()] = key
    return names


def is_deletion(attrs: list[tuple[str, str | None]]) -> bool:
    """True when the header removes the cookie (Max-Age <= 0 or an Expires in the past)."""
    for key, val in attrs:
        if key == "max-age" and val is not None and val.lstrip("-").isdigit() and int(val) <= 0:
            return True
        if key == "expires" and val and val.endswith(("1970 00:00:00 GMT", "1970 00:00:00 UTC")):
            return True
    return False


def enforce(header: str, registry: Registry, allowed: frozenset[str]) -> Decision:
    """Let a declared cookie out with its declared lifetime; drop anything else.

    - undeclared: dropped (C17), the caller reports it;
    - non-essential and its category not in `allowed`: dropped (TDDDG §25);
    - session cookie: any Expires/Max-Age removed (C15);
    - other: Max-Age is the declared lifetime, or less if the app asked for less.
    A deletion of any cookie passes unchanged: removing a cookie never needs consent.
    """
    name, _value, attrs = parse(header)
    if is_deletion(attrs):
        return Decision(Verdict.KEEP, name, header)
    cookie = registry.get(name)
    if cookie is None:
        return Decision(Verdict.DROP_UNDECLARED, name, None)
    if not registry.is_essential(name) and cookie.category not in allowed:
        return Decision(Verdict.DROP_NO_CONSENT, name, None)
    declared = cookie.max_age_seconds
    asked = next(
        (int(v) for k, v in attrs if k == "max-age" and v is not None and v.isdigit()), None
    )
    max_age = None if declared is None else min(declared, asked or declared)
    case = _original_case(header)
    kept = [
        f"{case.get(k, k)}={v}" if v is not None else case.get(k, k)
        for k, v in attrs
        if k not in LIFETIME_ATTRIBUTES
    ]
    if max_age is not None:
        kept.insert(0, f"Max-Age={max_age}")
    rebuilt = "; ".join([header.split(";", 1)[0].strip(), *kept])
    verdict = Verdict.KEEP if rebuilt == header else Verdict.REWRITE
    return Decision(verdict, name, rebuilt)
