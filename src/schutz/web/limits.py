"""Limits on what one request, and one client network, may ask of us.

`BodyLimitMiddleware` refuses bodies over `SCHUTZ_MAX_BODY_BYTES` (413), API writes that are
not JSON (415), JSON that is not UTF-8 or is nested deeper than `MAX_JSON_DEPTH` (422), all
before a route parses anything. `RateLimitMiddleware` keeps one token bucket per (truncated
client address, route group) for the public forms, the staff sign-in and the analytics beacon,
and answers 429 with `Retry-After` (RFC 6585 section 4) once a bucket is empty. On
PostgreSQL the buckets are rows every app server shares (one upsert per database visit,
`schutz/buckets.py`; busy groups lease a few tokens per visit), so N servers still allow one
limit; on SQLite (one process) they live in memory.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

import anyio
import anyio.to_thread
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from schutz.buckets import forget_full, take_tokens
from schutz.config import Settings
from schutz.web.client_ip import truncated_client_ip
from schutz.web.errors import error_response

log = logging.getLogger(__name__)

MAX_JSON_DEPTH = 32
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# The analytics beacon takes whatever a browser sends and answers 204 regardless.
NOT_JSON_ONLY = frozenset({"/api/v1/collect"})
_JSON_TOKENS = re.compile(rb'[\[\]{}"\\]')


def json_depth(body: bytes) -> int:
    """How deeply `body` nests arrays and objects, counted without parsing (strings skipped)."""
    depth = deepest = 0
    in_string = False
    escaped_at = -1  # the byte after a backslash inside a string is not a token
    for match in _JSON_TOKENS.finditer(body):
        char, at = match.group(), match.start()
        if at == escaped_at:
            continue
        if in_string:
            if char == b"\\":
                escaped_at = at + 1
            elif char == b'"':
                in_string = False
        elif char == b'"':
            in_string = True
        elif char in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        elif char in (b"]", b"}"):
            depth -= 1
    return deepest


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


class BodyLimitMiddleware:
    """Reads each request body once, up to the limit, checks it, then hands it on."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in WRITE_METHODS:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > self.max_bytes:
            await self._refuse(scope, receive, send, 413, self._too_large())
            return
        body, disconnected = await self._read(receive)
        if body is None:
            await self._refuse(scope, receive, send, 413, self._too_large())
            return
        problem = self._check(scope, headers.get("content-type", ""), body)
        if problem is not None:
            await self._refuse(scope, receive, send, *problem)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            if disconnected:
                return {"type": "http.disconnect"}
            return await receive()

        await self.app(scope, replay, send)

    def _too_large(self) -> str:
        return f"the request body is larger than {self.max_bytes} bytes"

    async def _read(self, receive: Receive) -> tuple[bytes | None, bool]:
        """(the body, or None past the limit; whether the client went away meanwhile)."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return b"".join(chunks), True
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                return None, False
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks), False

    @staticmethod
    def _check(scope: Scope, content_type: str, body: bytes) -> tuple[int, str] | None:
        path: str = scope["path"]
        if _is_json(content_type):
            try:
                body.decode("utf-8")
            except UnicodeDecodeError:
                return 422, "the body is not valid UTF-8; JSON must be (RFC 8259 section 8.1)"
            if (
                body.count(b"[") + body.count(b"{") > MAX_JSON_DEPTH
                and json_depth(body) > MAX_JSON_DEPTH
            ):
                return 422, f"the JSON body nests deeper than {MAX_JSON_DEPTH} levels"
        elif path.startswith("/api/") and body and path not in NOT_JSON_ONLY:
            return 415, "send the body as JSON (Content-Type: application/json)"
        return None

    async def _refuse(
        self, scope: Scope, receive: Receive, send: Send, status: int, detail: str
    ) -> None:
        response = error_response(Request(scope), status, detail)
        if status == 413:
            response.headers["Connection"] = "close"
        await response(scope, receive, send)


# --- rate limits -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Rate:
    """`count` requests per `seconds`: a bucket of `count` tokens refilled evenly."""

    count: int
    seconds: float

    @classmethod
    def parse(cls, text: str) -> Rate | None:
        """`"30/600"` → Rate(30, 600.0); `"off"` or `"0"` → None (no limit)."""
        text = text.strip().lower()
        if text in ("off", "0", ""):
            return None
        count, _, seconds = text.partition("/")
        try:
            rate = cls(int(count), float(seconds or "1"))
        except ValueError:
            raise ValueError(f"a rate limit reads N/SECONDS, like 30/600; got {text!r}") from None
        if rate.count < 1 or rate.seconds <= 0:
            raise ValueError(f"a rate limit needs N >= 1 and SECONDS > 0; got {text!r}")
        return rate


class TokenBuckets:
    """One token bucket per key, in this process's memory (each app server counts alone)."""

    def __init__(
        self, rate: Rate, *, clock: Callable[[], float] = time.monotonic, max_keys: int = 65536
    ) -> None:
        self.rate = rate
        self.clock = clock
        self.max_keys = max_keys
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, when)

    def take(self, key: str) -> float:
        """Spend one token for `key`: 0.0 if there was one, else seconds until there is."""
        now = self.clock()
        per_second = self.rate.count / self.rate.seconds
        tokens, then = self._buckets.get(key, (float(self.rate.count), now))
        tokens = min(float(self.rate.count), tokens + (now - then) * per_second)
        if tokens >= 1.0:
            if key not in self._buckets and len(self._buckets) >= self.max_keys:
                self._forget_full(now, per_second)
            self._buckets[key] = (tokens - 1.0, now)
            return 0.0
        self._buckets[key] = (tokens, now)
        return (1.0 - tokens) / per_second

    def _forget_full(self, now: float, per_second: float) -> None:
        """Drop buckets that have refilled: forgetting them changes nothing."""
        full = [
            key
            for key, (tokens, then) in self._buckets.items()
            if tokens + (now - then) * per_second >= self.rate.count
        ]
        for key in full or list(self._buckets)[: self.max_keys // 2]:
            del self._buckets[key]


# (method, path) -> group; each group has its own setting, rate_limit_<group>.
GROUPS: dict[tuple[str, str], str] = {
    ("POST", "/staff/login"): "staff_login",
    ("POST", "/account/login"): "magic_link",
    ("POST", "/contact"): "contact",
    ("POST", "/newsletter"): "newsletter",
    ("POST", "/requests/new"): "requests",
    ("POST", "/api/v1/collect"): "collect",
    ("POST", "/api/v1/visitor-consents"): "visitor_consents",
}


class SharedBuckets:
    """The same token buckets kept in PostgreSQL, shared by every app server (`buckets.py`).

    One statement per database visit, on a connection of its own in a worker thread; at
    most `CONCURRENT` of them at once, so the limiter never takes more of the pool than that.
    A busy group leases tokens: a visit takes up to `lease` (a fiftieth of the bucket, 24 of
    the beacon's 1200/60, 1 of a form's 30/600) and this server spends them without asking
    again for up to one period. The limit then holds across servers to within one lease per
    server, and the beacon goes to the database once per 24 page views of a network, not
    on every one.
    """

    CONCURRENT = 4
    FORGET_EVERY = 1000
    LEASE_PARTS = 50
    MAX_LEASES = 65536

    def __init__(self, engine: Engine, group: str, rate: Rate) -> None:
        self.engine = engine
        self.group = group
        self.rate = rate
        self.lease = max(1, rate.count // self.LEASE_PARTS)
        self._leased: dict[str, tuple[int, float]] = {}  # key -> (tokens, valid until)
        self._calls = 0
        self._gate = anyio.CapacityLimiter(self.CONCURRENT)

    async def take(self, key: str) -> float:
        """0.0 when the request may pass, else seconds until it may (runs on the event loop:
        the leases need no lock)."""
        now = time.monotonic()
        left, until = self._leased.get(key, (0, 0.0))
        if left > 0 and now < until:
            self._leased[key] = (left - 1, until)
            return 0.0
        taken, wait = await anyio.to_thread.run_sync(self._take, key, limiter=self._gate)
        if taken > 1:
            if len(self._leased) >= self.MAX_LEASES:
                self._leased.clear()  # a lease forgotten only makes the limit stricter
            self._leased[key] = (taken - 1, now + self.rate.seconds)
        else:
            self._leased.pop(key, None)
        return wait

    def _take(self, key: str) -> tuple[int, float]:
        self._calls += 1
        try:
            with self.engine.begin() as conn:
                if self._calls % self.FORGET_EVERY == 0:
                    forget_full(conn, older_than=self.rate.seconds)
                return take_tokens(
                    conn,
                    self.group,
                    key,
                    capacity=self.rate.count,
                    seconds=self.rate.seconds,
                    want=self.lease,
                )
        except SQLAlchemyError as exc:
            # The route behind would fail on the same database; let it answer (503 or 500).
            # Only the error's type: its message would carry the statement's parameters.
            log.error("rate limit: the shared bucket could not be read: %s", type(exc).__name__)
            return 1, 0.0


class LocalBuckets:
    """`TokenBuckets` behind the same awaitable `take` as `SharedBuckets`."""

    def __init__(self, rate: Rate) -> None:
        self.buckets = TokenBuckets(rate)

    async def take(self, key: str) -> float:
        return self.buckets.take(key)


Buckets = SharedBuckets | LocalBuckets


def buckets_from(settings: Settings, engine: Engine | None = None) -> dict[str, Buckets]:
    """A bucket set per limited group; a group whose setting is "off" gets none. On
    PostgreSQL the buckets are rows every app server shares; else this process's memory."""
    shared = engine is not None and engine.dialect.name == "postgresql"
    out: dict[str, Buckets] = {}
    for group in sorted(set(GROUPS.values())):
        rate = Rate.parse(getattr(settings, f"rate_limit_{group}"))
        if rate is None:
            continue
        if shared and engine is not None:
            out[group] = SharedBuckets(engine, group, rate)
        else:
            out[group] = LocalBuckets(rate)
    return out


class RateLimitMiddleware:
    """429 with Retry-After once a client network has spent its tokens for a route group."""

    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.buckets: dict[str, Buckets] | None = None

    def _buckets(self, scope: Scope) -> dict[str, Buckets]:
        if self.buckets is None:
            state = getattr(scope.get("app"), "state", None)
            self.buckets = buckets_from(self.settings, getattr(state, "engine", None))
        return self.buckets

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            group = GROUPS.get((scope["method"], scope["path"]))
            buckets = self._buckets(scope).get(group) if group else None
            if buckets is not None:
                request = Request(scope)
                network = truncated_client_ip(request, self.settings) or "unknown"
                wait = await buckets.take(network)
                if wait > 0:
                    retry_after = max(1, math.ceil(wait))
                    minutes = max(1, math.ceil(retry_after / 60))
                    detail = (
                        f"too many requests from your network; try again in {minutes} minute"
                        + ("s" if minutes > 1 else "")
                    )
                    response = error_response(request, 429, detail)
                    response.headers["Retry-After"] = str(retry_after)
                    await response(scope, receive, send)
                    return
        await self.app(scope, receive, send)
