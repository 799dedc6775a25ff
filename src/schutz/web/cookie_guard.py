"""Only declared cookies leave, with their declared lifetime, and only after consent (C15-C17).

A pure ASGI middleware. On the way in it reads the visitor's choices from the consent cookie
and leaves them on `request.state.cookie_consent` for the banner and the routes; on the way
out it holds every `Set-Cookie` against the registry of the policy in force:

- an undeclared cookie is dropped, logged by name only (never its value) and counted in
  `app.state.undeclared_cookies` for the staff analytics page;
- a non-essential cookie whose category the visitor has not allowed is dropped (TDDDG §25);
- a session cookie loses Expires/Max-Age; any other gets its declared Max-Age.
A route that records a new choice sets `request.state.cookie_consent.choices`, so the
response that grants consent can already carry the cookie it allows. The parsed cookies
stay on the request too (`request_cookies`): the header is parsed once.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from starlette.requests import Request, cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from schutz.cookies.choices import Choices, decode
from schutz.cookies.registry import CONSENT_COOKIE, Registry, registry_for
from schutz.cookies.setcookie import Verdict, enforce
from schutz.policy.loader import PolicySet
from schutz.policy.schema import Policy

log = logging.getLogger("schutz.cookies")

NO_CHOICES = Choices(visitor_id="")


@dataclass
class CookieConsent:
    """This request's view of the visitor's cookie choices, against the policy in force."""

    policy: Policy
    registry: Registry
    choices: Choices

    @property
    def needs_asking(self) -> bool:
        return self.choices.needs_asking(self.registry.categories)

    def allows(self, category: str) -> bool:
        return self.choices.allows(category)


@dataclass
class UndeclaredCookies:
    """How often each undeclared cookie was dropped, and where last (no values are kept)."""

    counts: Counter[str] = field(default_factory=Counter)
    last_path: dict[str, str] = field(default_factory=dict)
    last_at: dict[str, datetime] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def report(self, name: str, path: str) -> None:
        with self._lock:
            self.counts[name] += 1
            self.last_path[name] = path
            self.last_at[name] = datetime.now(UTC)

    def rows(self) -> list[tuple[str, int, str, datetime]]:
        with self._lock:
            return [
                (n, c, self.last_path[n], self.last_at[n]) for n, c in self.counts.most_common()
            ]


def undeclared_log(app: Any) -> UndeclaredCookies:
    """The app's record of dropped undeclared cookies (created on first use)."""
    state = app.state
    found = getattr(state, "undeclared_cookies", None)
    if found is None:
        found = UndeclaredCookies()
        state.undeclared_cookies = found
    return found


def _parse_cookies(scope: Scope) -> dict[str, str]:
    """The request's cookies, parsed as Starlette parses them for `request.cookies`."""
    cookies: dict[str, str] = {}
    for key, value in scope.get("headers", ()):
        if key == b"cookie":
            cookies.update(cookie_parser(value.decode("latin-1")))
    return cookies


def request_cookies(request: Request) -> dict[str, str]:
    """The cookies the guard parsed for this request (parsed here if it did not run):
    routes on hot paths read these instead of parsing the header a second time."""
    parsed: dict[str, str] | None = request.scope.get("state", {}).get("cookies")
    return parsed if parsed is not None else request.cookies


class CookieGuardMiddleware:
    """See the module docstring."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._in_force: tuple[int, date, Policy] | None = None

    def _policy(self, policies: PolicySet) -> Policy:
        """The policy in force today, looked up once a day (and when the set changes)."""
        today = datetime.now(UTC).date()
        known = self._in_force
        if known is None or known[0] != id(policies) or known[1] != today:
            known = (id(policies), today, policies.in_force(today))
            self._in_force = known
        return known[2]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        owner = scope.get("app")
        policies: PolicySet | None = getattr(getattr(owner, "state", None), "policies", None)
        if policies is None:
            await self.app(scope, receive, send)
            return
        policy = self._policy(policies)
        cookies = _parse_cookies(scope)
        consent = CookieConsent(
            policy, registry_for(policy), decode(cookies.get(CONSENT_COOKIE)) or NO_CHOICES
        )
        state = scope.setdefault("state", {})
        state["cookie_consent"] = consent
        state["cookies"] = cookies

        async def guarded_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = self._filter(message.get("headers", []), consent, scope, owner)
            await send(message)

        await self.app(scope, receive, guarded_send)

    @staticmethod
    def _filter(
        headers: list[tuple[bytes, bytes]], consent: CookieConsent, scope: Scope, owner: Any
    ) -> list[tuple[bytes, bytes]]:
        kept = []
        for key, value in headers:
            if key.lower() != b"set-cookie":
                kept.append((key, value))
                continue
            decision = enforce(value.decode("latin-1"), consent.registry, consent.choices.allowed)
            if decision.header is not None:
                kept.append((key, decision.header.encode("latin-1")))
            elif decision.verdict is Verdict.DROP_UNDECLARED:
                path = scope.get("path", "")
                log.warning("undeclared cookie %r dropped on %s", decision.name, path)
                undeclared_log(owner).report(decision.name, path)
            else:
                log.info("cookie %r held back: no consent for its category", decision.name)
        return kept
