"""The policy's cookie list read as a registry: names, categories and lifetimes (C15, C17)."""

from __future__ import annotations

from dataclasses import dataclass

from schutz.policy.schema import Cookie, CookieCategory, Policy

ESSENTIAL = CookieCategory.ESSENTIAL.value
CONSENT_COOKIE = "schutz_consent"
VISITOR_COOKIE = "schutz_vid"
OPTOUT_COOKIE = "schutz_optout"

# The consent-ledger purpose a category's choice is recorded under, when the policy has it.
CATEGORY_PURPOSES = {"embeds": "social_embeds", "preferences": "preferences"}


@dataclass(frozen=True)
class Registry:
    """The declared cookies of one policy version."""

    version: str
    cookies: dict[str, Cookie]
    categories: tuple[str, ...]
    """Non-essential categories a visitor chooses about, in a stable order."""

    def get(self, name: str) -> Cookie | None:
        return self.cookies.get(name)

    def is_essential(self, name: str) -> bool:
        cookie = self.cookies.get(name)
        return cookie is not None and cookie.category.value == ESSENTIAL

    def names_in(self, category: str) -> tuple[str, ...]:
        return tuple(n for n, c in self.cookies.items() if c.category.value == category)


def choice_categories(policy: Policy) -> tuple[str, ...]:
    """Non-essential categories the visitor decides on: those with cookies, and `embeds`
    when the policy has two-click embeds (loading one needs consent, cookie or not)."""
    found = {c.category.value for c in policy.cookies if c.category.value != ESSENTIAL}
    if any(e.two_click for e in policy.embeds.values()):
        found.add(CookieCategory.EMBEDS.value)
    return tuple(c.value for c in CookieCategory if c.value in found)


_built: dict[int, tuple[Policy, Registry]] = {}


def registry_for(policy: Policy) -> Registry:
    """The registry of `policy`, built once per policy object (policies are immutable)."""
    found = _built.get(id(policy))
    if found is not None and found[0] is policy:
        return found[1]
    registry = Registry(
        version=policy.version,
        cookies={c.name: c for c in policy.cookies},
        categories=choice_categories(policy),
    )
    _built[id(policy)] = (policy, registry)
    return registry


def purpose_for(policy: Policy, category: str) -> str | None:
    """The policy purpose a choice about `category` is consent to, or None if it names none.

    Analytics is the analytics section's purpose; otherwise the purpose a cookie of that
    category `serves`, or the conventional key in `CATEGORY_PURPOSES`.
    """
    if category == CookieCategory.ANALYTICS.value and policy.analytics is not None:
        return policy.analytics.purpose
    for cookie in policy.cookies:
        if cookie.category.value == category and cookie.serves in policy.purposes:
            return cookie.serves
    key = CATEGORY_PURPOSES.get(category)
    return key if key in policy.purposes else None
