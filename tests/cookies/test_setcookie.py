"""Holding Set-Cookie headers against the registry: table-driven."""

from __future__ import annotations

import pytest

from schutz.config import BUNDLED_POLICY_DIR
from schutz.cookies.registry import purpose_for, registry_for
from schutz.cookies.setcookie import Verdict, enforce, parse
from schutz.policy.loader import load_policy_set

POLICY = load_policy_set(BUNDLED_POLICY_DIR).get("2026-11")
REGISTRY = registry_for(POLICY)
NONE: frozenset[str] = frozenset()
ANALYTICS = frozenset({"analytics"})
YEAR = 365 * 86400


@pytest.mark.parametrize(
    ("header", "allowed", "verdict", "sent"),
    [
        ("tracker=abc; Path=/", ANALYTICS, Verdict.DROP_UNDECLARED, None),
        ("schutz_vid=abc; Path=/", NONE, Verdict.DROP_NO_CONSENT, None),
        (
            "schutz_vid=abc; HttpOnly; Path=/",
            ANALYTICS,
            Verdict.REWRITE,
            f"schutz_vid=abc; Max-Age={13 * 30 * 86400}; HttpOnly; Path=/",
        ),
        (
            "schutz_session=t; expires=Fri, 01 Jan 2100 00:00:00 GMT; Max-Age=99999; Path=/staff",
            NONE,
            Verdict.REWRITE,
            "schutz_session=t; Path=/staff",
        ),
        ("schutz_session=t; HttpOnly; Path=/staff", NONE, Verdict.KEEP, None),
        (
            "schutz_consent=v; Max-Age=60; Path=/",
            NONE,
            Verdict.REWRITE,
            "schutz_consent=v; Max-Age=60; Path=/",
        ),
        (
            "schutz_consent=v; Max-Age=999999999; Path=/",
            NONE,
            Verdict.REWRITE,
            f"schutz_consent=v; Max-Age={YEAR}; Path=/",
        ),
        (
            'tracker=""; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/',
            NONE,
            Verdict.KEEP,
            None,
        ),
    ],
)
def test_a_set_cookie_header_gets_the_registry_verdict(
    header: str, allowed: frozenset[str], verdict: Verdict, sent: str | None
) -> None:
    decision = enforce(header, REGISTRY, allowed)

    if verdict in (Verdict.DROP_UNDECLARED, Verdict.DROP_NO_CONSENT):
        assert decision.verdict is verdict
        assert decision.header is None
    elif sent is None:
        assert decision.header == header
    else:
        assert decision.header == sent


def test_a_session_cookie_never_carries_an_expiry() -> None:
    decision = enforce("schutz_session=t; Max-Age=3600; Path=/staff", REGISTRY, NONE)

    assert decision.header is not None
    _name, _value, attrs = parse(decision.header)
    assert {k for k, _ in attrs}.isdisjoint({"max-age", "expires"})


def test_each_category_maps_to_a_purpose_or_to_the_audit_log() -> None:
    assert purpose_for(POLICY, "analytics") == "web_analytics"
    assert REGISTRY.categories == ("analytics", "embeds")
    assert purpose_for(POLICY, "embeds") in (None, "social_embeds")
