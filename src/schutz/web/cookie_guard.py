"""Only declared cookies leave, with their declared lifetime, and only after consent (C15-C17).

A pure ASGI middleware. On the way in it reads the visitor's choices from the consent cookie
and leaves them on `request.state.cookie_consent` for the banner and the routes; on the way
out it holds every `Set-Cookie` against the registry of the policy in force:

- an undeclared cookie is dropped, logged by name only (never its value) and counted in
  the `cookie_undeclared` rows (`cookies/undeclared.py`) the staff analytics page shows;
- a non-essential cookie whose category the visitor has not allowed is dropped (TDDDG §25);
- a session cookie loses Expires/Max-Age; any other gets its declared Max-Age.
A route that records a new choice sets `request.state.cookie_consent.choices`, so the
response that grants consent can already carry the cookie it allows. The parsed cookies
stay on the request too (`request_cookies`): the header is parsed once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import anyio.to_thread
from starlette.requests import Request, cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from schutz.cookies.choices import Choices, decode
from schutz.cookies.registry import CONSENT_COOKIE, Registry, registry_for
from schutz.cookies.setcookie import Verdict, enforce
from schutz.cookies.undeclared import report_undeclared
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


def record_undeclared(owner: Any, names: list[str], path: str) -> None:
    """Add `names` to the report of undeclared cookies (rows every app server shares), in
    its own short transaction; a failure is logged, never the visitor's problem."""
    sessions = getattr(getattr(owner, "state", None), "sessions", None)
    if sessions is None:
        return
    try:
        with sessions() as session, session.begin():
            for name in names:
                report_undeclared(session, name, path, now=datetime.now(UTC))
    except Exception as exc:
        log.error("could not record %d undeclared cookie(s): %s", len(names), type(exc).__name__)


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
                dropped: list[str] = []
                message["headers"] = self._filter(message.get("headers", []), consent, dropped)
                if dropped:  # rare: a route or an embedding site set a cookie not declared
                    path = scope.get("path", "")
                    await anyio.to_thread.run_sync(record_undeclared, owner, dropped, path)
            await send(message)

        await self.app(scope, receive, guarded_send)

    @staticmethod
    def _filter(
        headers: list[tuple[bytes, bytes]], consent: CookieConsent, dropped: list[str]
    ) -> list[tuple[bytes, bytes]]:
        """The headers to send; the names of undeclared cookies held back go to `dropped`."""
        kept = []
        for key, value in headers:
            if key.lower() != b"set-cookie":
                kept.append((key, value))
                continue
            decision = enforce(value.decode("latin-1"), consent.registry, consent.choices.allowed)
            if decision.header is not None:
                kept.append((key, decision.header.encode("latin-1")))
            elif decision.verdict is Verdict.DROP_UNDECLARED:
                log.warning("undeclared cookie %r dropped", decision.name)
                dropped.append(decision.name)
            else:
                log.info("cookie %r held back: no consent for its category", decision.name)
        return kept
