"""A visitor's choice on an operator's own site, sent by the embeddable script (issue 14).

The choice arrives cross-origin with the visitor's opaque id (the random value of the
first-party `schutz_consent` cookie on that site), the site and origin it came from, the
registry version and the hash of the wording the banner showed. It is kept in the consent
ledger through `consent.service`, one event per decided purpose, each carrying the whole
choice as evidence, so the operator can show what was agreed to, where, and under which
words (Art. 7(1) GDPR). Categories and services the policy names no purpose for (content
from other sites, when the policy lists no purpose for it) go to the audit log with the
same proof. The address is truncated before it is stored (analytics/ip.py).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from schutz.analytics.ip import truncate_ip
from schutz.audit import service as audit
from schutz.consent.models import ConsentAction, ConsentChannel
from schutz.consent.service import ConsentState, current_state, record_consent, wording_hash
from schutz.errors import Conflict, InvalidInput
from schutz.policy.schema import Policy

VISITOR_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
ACTOR = "visitor:embed"


@dataclass(frozen=True)
class ShownRegistry:
    """What the banner was built from, as the cookie registry (`cookies.registry`) gives it:
    passed in, so that the ledger needs no knowledge of cookies."""

    version: str
    wording: dict[str, str]
    """Language → the canonical wording text the banner showed; its SHA-256 is the hash."""
    categories: frozenset[str]
    service_category: dict[str, str]
    purposes: dict[str, str | None]
    """Category → the policy purpose a choice about it is consent to (None: audit log only)."""

    def wording_hash(self, lang: str) -> str:
        return wording_hash(self.wording.get(lang, ""))


@dataclass(frozen=True)
class VisitorChoice:
    """One choice as the script sent it, before it is checked against the registry."""

    visitor_id: str
    site: str
    origin: str
    version: str
    wording_hash: str
    lang: str
    categories: dict[str, bool]
    services: dict[str, bool] = field(default_factory=dict)
    gpc: bool = False


def parse_choice(data: object, *, site_origin: str) -> VisitorChoice:
    """The choice in a decoded JSON body; `InvalidInput` naming the first thing wrong."""
    if not isinstance(data, dict):
        raise InvalidInput("send a JSON object")

    def text(name: str, limit: int) -> str:
        value = data.get(name)
        if not isinstance(value, str) or not 0 < len(value) <= limit:
            raise InvalidInput(f"{name!r} must be a string of 1 to {limit} characters")
        return value

    def flags(name: str) -> dict[str, bool]:
        value = data.get(name, {})
        if not isinstance(value, dict) or len(value) > 32:
            raise InvalidInput(f"{name!r} must be an object of at most 32 yes/no answers")
        if not all(isinstance(k, str) and isinstance(v, bool) for k, v in value.items()):
            raise InvalidInput(f"{name!r} maps names to true or false")
        return dict(value)

    visitor = text("visitor", 64)
    if not VISITOR_ID.fullmatch(visitor):
        raise InvalidInput("'visitor' must be the random id of the consent cookie")
    lang = data.get("lang", "en")
    gpc = data.get("gpc", False)
    return VisitorChoice(
        visitor_id=visitor,
        site=text("site", 40),
        origin=site_origin,
        version=text("version", 60),
        wording_hash=text("wording_hash", 64),
        lang=lang if lang in ("en", "de") else "en",
        categories=flags("categories"),
        services=flags("services"),
        gpc=gpc is True,
    )


def check_against(registry: ShownRegistry, choice: VisitorChoice) -> None:
    """Refuse a choice made under other words than the registry's in force.

    `Conflict` for a stale version or a wording hash we never served (the script reloads the
    registry and asks again); `InvalidInput` for a category or service the registry lacks.
    """
    if choice.version != registry.version:
        raise Conflict("the cookie registry has changed; reload it and ask again")
    if choice.wording_hash != registry.wording_hash(choice.lang):
        raise Conflict("the wording hash is not the one the banner was served with")
    unknown = set(choice.categories) - registry.categories
    if unknown:
        raise InvalidInput(f"unknown categories: {', '.join(sorted(unknown))}")
    unknown = set(choice.services) - set(registry.service_category)
    if unknown:
        raise InvalidInput(f"unknown services: {', '.join(sorted(unknown))}")


def _evidence(choice: VisitorChoice) -> str:
    return json.dumps(
        {
            "site": choice.site,
            "origin": choice.origin,
            "registry_version": choice.version,
            "lang": choice.lang,
            "categories": choice.categories,
            "services": choice.services,
            "gpc": choice.gpc,
        },
        sort_keys=True,
        separators=(",", ":"),
    )


def record_visitor_choice(
    session: Session,
    policy: Policy,
    registry: ShownRegistry,
    choice: VisitorChoice,
    *,
    ip: str | None,
    user_agent: str | None,
    now: datetime,
) -> list[str]:
    """Write the choice to the ledger (and the audit log); the decisions written.

    One event per category decided, and one per service whose answer differs from its
    category's (consent per service: a click on one provider's placeholder grants that
    provider alone). The wording stored is the canonical wording the hash was taken over,
    so the ledger's hash is the banner's.
    """
    check_against(registry, choice)
    written = []
    for label, category, allowed in _decisions(registry, choice):
        action = ConsentAction.GRANT if allowed else ConsentAction.WITHDRAW
        purpose = registry.purposes.get(category)
        if purpose is None:
            _audit_decision(session, choice, label, action, now)
        else:
            record_consent(
                session,
                policy,
                visitor_id=choice.visitor_id,
                purpose=purpose,
                action=action.value,
                channel=ConsentChannel.WEB.value,
                evidence=_evidence(choice),
                wording=registry.wording[choice.lang],
                wording_version=f"embed:{label}"[:40],
                ip=truncate_ip(ip),
                user_agent=user_agent,
                actor=ACTOR,
                now=now,
            )
        written.append(label)
    return written


def _decisions(registry: ShownRegistry, choice: VisitorChoice) -> list[tuple[str, str, bool]]:
    """(label, category, allowed): each category decided, then each service whose answer
    differs from its category's."""
    category_of = registry.service_category
    decisions = [(f"category:{c}", c, yes) for c, yes in sorted(choice.categories.items())]
    decisions += [
        (f"service:{s}", category_of[s], yes)
        for s, yes in sorted(choice.services.items())
        if choice.categories.get(category_of[s]) is not yes
    ]
    return decisions


def _audit_decision(
    session: Session, choice: VisitorChoice, label: str, action: ConsentAction, now: datetime
) -> None:
    """A decision with no purpose in the policy (an embed): its proof goes to the audit log."""
    audit.record(
        session,
        actor=ACTOR,
        action=f"cookies.{action.value}",
        details={
            "decision": label,
            "visitor": choice.visitor_id,
            "site": choice.site,
            "origin": choice.origin,
            "registry_version": choice.version,
            "wording_hash": choice.wording_hash,
        },
        now=now,
    )


def analytics_granted(session: Session, policy: Policy, visitor_id: str) -> bool:
    """Whether this visitor's latest word on the analytics purpose is a grant."""
    if policy.analytics is None or not VISITOR_ID.fullmatch(visitor_id):
        return False
    state = current_state(session, policy, visitor_id=visitor_id).get(policy.analytics.purpose)
    return state in (ConsentState.GRANTED, ConsentState.CONFIRMED)
