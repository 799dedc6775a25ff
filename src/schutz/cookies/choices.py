"""The visitor's cookie choices as the `schutz_consent` cookie carries them.

The value is `<visitor id>.<policy version>.<flags>`, e.g. `Zq3…Kx.2026-11.a1e0`: a random
id (22 URL-safe characters, 132 bits) that joins to nothing but the visitor's own consent
events (C14), the policy version the choice was made under, and one letter and digit per
category decided (a=analytics, e=embeds, p=preferences), then `~<service><0|1>` for each
embed decided on its own (a click on one provider's placeholder: `~facebook1`). A category of
the operator's own (`cookie_categories` in the policy) is `!<key><0|1>`, between the two
(`a1e0!chat1~facebook1`). It holds no
personal data. A category the policy has and the flags lack has not been decided yet, so a
new policy version that adds a category asks again.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field

from schutz.cookies.registry import VISITOR_COOKIE, Registry

LETTERS = {"analytics": "a", "embeds": "e", "preferences": "p"}
_CATEGORY = {v: k for k, v in LETTERS.items()}
_VALUE = re.compile(
    r"^([A-Za-z0-9_-]{16,64})\.([0-9A-Za-z._-]{1,40})\.((?:[aep][01])*)"
    r"((?:![a-z][a-z0-9_]{0,30}[01])*)((?:~[a-z][a-z0-9_]{0,39}[01])*)$"
)
_VISITOR = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def new_visitor_id() -> str:
    """A fresh random id (132 bits, URL-safe): the only kind of value our cookies carry."""
    return secrets.token_urlsafe(16)[:22]


def is_visitor_id(value: str | None) -> bool:
    return value is not None and bool(_VISITOR.fullmatch(value))


@dataclass(frozen=True)
class Choices:
    """What one visitor decided, per non-essential category."""

    visitor_id: str
    version: str = ""
    decided: dict[str, bool] = field(default_factory=dict)
    services: dict[str, bool] = field(default_factory=dict)
    """Embeds decided one by one; a service not here follows its category."""

    def allows(self, category: str) -> bool:
        return self.decided.get(category, False)

    def allows_service(self, service: str, category: str) -> bool:
        """Consent per service: its own answer, else its category's."""
        return self.services.get(service, self.allows(category))

    @property
    def allowed(self) -> frozenset[str]:
        return frozenset(c for c, yes in self.decided.items() if yes)

    def needs_asking(self, categories: tuple[str, ...]) -> bool:
        """True while a category of the policy in force has no decision."""
        return any(c not in self.decided for c in categories)

    def with_(
        self, decisions: dict[str, bool], version: str, services: dict[str, bool] | None = None
    ) -> Choices:
        # A decision about a whole category replaces the single answers inside it.
        kept = {} if decisions else dict(self.services)
        return Choices(
            self.visitor_id, version, {**self.decided, **decisions}, {**kept, **(services or {})}
        )

    def encode(self) -> str:
        flags = "".join(
            f"{LETTERS[c]}{int(v)}" for c, v in sorted(self.decided.items()) if c in LETTERS
        )
        flags += "".join(
            f"!{c}{int(v)}" for c, v in sorted(self.decided.items()) if c not in LETTERS
        )
        singles = "".join(f"~{s}{int(v)}" for s, v in sorted(self.services.items()))
        return f"{self.visitor_id}.{self.version}.{flags}{singles}"


def decode(value: str | None) -> Choices | None:
    """The choices in a cookie value, or None when it is missing or malformed."""
    if not value:
        return None
    match = _VALUE.fullmatch(value)
    if match is None:
        return None
    vid, version, flags, own, singles = match.groups()
    decided = {_CATEGORY[flags[i]]: flags[i + 1] == "1" for i in range(0, len(flags), 2)}
    decided.update({c[:-1]: c[-1] == "1" for c in own.split("!") if c})
    services = {s[:-1]: s[-1] == "1" for s in singles.split("~") if s}
    return Choices(vid, version, decided, services)


ACTIONS = ("accept", "reject", "save", "grant")
"""What the banner and /cookies send: all on, all off (the same size and form, Art. 7(3)
GDPR), the ticked boxes, or one category (a two-click embed asking for itself)."""


@dataclass(frozen=True)
class ChoiceChange:
    """A visitor's choices before and after one form post, and the cookies to drop."""

    before: Choices
    after: Choices
    to_delete: frozenset[str]


def apply_choice(
    before: Choices | None,
    registry: Registry,
    action: str,
    *,
    allow: tuple[str, ...] = (),
    category: str | None = None,
    service: str | None = None,
    embeds: tuple[str, ...] = (),
) -> ChoiceChange:
    """The visitor's choices after `action`, under `registry`'s policy version.

    Anything but accept, reject or a grant of a known category saves the ticked `allow`
    boxes: a category left unticked is a "no". A visitor without a valid id starts afresh
    with a new one. A grant naming one of the policy's `embeds` as `service` is consent to
    that provider alone (a click on its placeholder), not to its whole category.
    """
    categories = registry.categories
    services: dict[str, bool] = {}
    if action == "grant" and service in embeds:
        decisions: dict[str, bool] = {}
        services = {service: True}
    elif action == "accept":
        decisions = dict.fromkeys(categories, True)
    elif action == "reject":
        decisions = dict.fromkeys(categories, False)
    elif action == "grant" and category in categories:
        decisions = {category: True}
    else:
        decisions = {c: c in allow for c in categories}
    if before is None or not is_visitor_id(before.visitor_id):
        before = Choices(new_visitor_id())
    after = before.with_(decisions, registry.version, services)
    return ChoiceChange(before, after, cookies_to_delete(registry, after))


def cookies_to_delete(registry: Registry, after: Choices) -> frozenset[str]:
    """The cookies a browser must drop once `after` holds: those of every category said no
    to (TDDDG §25), and the visitor id when analytics is not allowed."""
    doomed = {
        name
        for withdrawn in (c for c, yes in after.decided.items() if not yes)
        for name in registry.names_in(withdrawn)
    }
    if not after.allows("analytics"):
        doomed.add(VISITOR_COOKIE)
    return frozenset(doomed)
