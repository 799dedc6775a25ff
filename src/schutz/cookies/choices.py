"""The visitor's cookie choices as the `schutz_consent` cookie carries them.

The value is `<visitor id>.<policy version>.<flags>`, e.g. `Zq3…Kx.2026-11.a1e0`: a random
id (22 URL-safe characters, 132 bits) that joins to nothing but the visitor's own consent
events (C14), the policy version the choice was made under, and one letter and digit per
category decided (a=analytics, e=embeds, p=preferences), then `~<service><0|1>` for each
embed decided on its own (a click on one provider's placeholder: `~facebook1`). It holds no
personal data. A category the policy has and the flags lack has not been decided yet, so a
new policy version that adds a category asks again.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field

LETTERS = {"analytics": "a", "embeds": "e", "preferences": "p"}
_CATEGORY = {v: k for k, v in LETTERS.items()}
_VALUE = re.compile(
    r"^([A-Za-z0-9_-]{16,64})\.([0-9A-Za-z._-]{1,40})\.((?:[aep][01])*)((?:~[a-z][a-z0-9_]{0,39}[01])*)$"
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
        singles = "".join(f"~{s}{int(v)}" for s, v in sorted(self.services.items()))
        return f"{self.visitor_id}.{self.version}.{flags}{singles}"


def decode(value: str | None) -> Choices | None:
    """The choices in a cookie value, or None when it is missing or malformed."""
    if not value:
        return None
    match = _VALUE.fullmatch(value)
    if match is None:
        return None
    vid, version, flags, singles = match.groups()
    decided = {_CATEGORY[flags[i]]: flags[i + 1] == "1" for i in range(0, len(flags), 2)}
    services = {s[:-1]: s[-1] == "1" for s in singles.split("~") if s}
    return Choices(vid, version, decided, services)
