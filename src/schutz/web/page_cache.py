"""Public pages rendered once per input, then answered from memory with an ETag (RFC 9110).

Rendering the privacy policy took most of a request's time, and its bytes change only with
what shaped them. A page is kept under all of it: the path and query string (the language
links and the banner's `next` repeat them), the language, the visitor's cookie choices as
the banner and the tracking script show them, the policy version those choices are held
against, today's date (which version is in force) and whatever the route adds. Only pages
that hold nothing else about the visitor go through here: never a page with a CSRF token,
a form token or personal data, never an answer that sets a cookie.

Answers carry `Cache-Control: no-cache` (a browser keeps the page but asks again each time)
and `Vary: Accept-Language, Cookie`; a matching `If-None-Match` is answered 304.

The route renders a page the first time (`cached_page`); after that `PageCacheMiddleware`
answers it before routing, inside the middlewares that guard cookies, add security headers
and log (outside those that limit: they act on writes and cross-origin paths, never on a
cached GET), so a hit costs neither FastAPI's dependency layer nor a worker thread.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from schutz.clock import utcnow
from schutz.web.i18n import pick_language

MAX_PAGES = 512  # query strings are the visitor's to choose; the oldest page goes first
MAX_QUERY = 256
"""Pages asked for with a longer query string are rendered but not kept: the pages read a
few short parameters (`lang`, `from`, `to`), and a stranger's 64 KB query strings would
otherwise fill the cache with junk and push the real pages out."""
KEPT_HEADERS = (b"content-type", b"content-language")
CACHE_CONTROL = "no-cache"
VARY = "Accept-Language, Cookie"

Key = tuple[Hashable, ...]
ROUTE_KEY = "schutz.route"  # scope key: the template of the route a cached page came from


@dataclass(frozen=True)
class Page:
    """A rendered answer: its bytes, the headers that describe them, and its entity tag."""

    body: bytes
    headers: tuple[tuple[str, str], ...]
    etag: str
    route: str  # the route template, for the access log and the metrics

    def answer(self, request: Request) -> Response:
        headers = {
            **dict(self.headers),
            "ETag": self.etag,
            "Cache-Control": CACHE_CONTROL,
            "Vary": VARY,
        }
        if _matches(request.headers.get("if-none-match"), self.etag):
            headers.pop("content-type", None)
            return Response(status_code=304, headers=headers)
        return Response(self.body, headers=headers)


def _matches(if_none_match: str | None, etag: str) -> bool:
    """Weak comparison, as RFC 9110 §13.1.2 asks for If-None-Match."""
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    return any(tag.strip().removeprefix("W/") == etag for tag in if_none_match.split(","))


def _page_of(response: Response, route: str) -> Page | None:
    """The response as a Page, or None when it must not be kept (not a 200, or a cookie)."""
    if response.status_code != 200 or not isinstance(response.body, bytes):
        return None
    kept = []
    for key, value in response.raw_headers:
        if key == b"set-cookie":
            return None
        if key in KEPT_HEADERS:
            kept.append((key.decode("latin-1"), value.decode("latin-1")))
    tag = hashlib.blake2b(response.body, digest_size=16).hexdigest()
    return Page(response.body, tuple(kept), f'"{tag}"', route)


class PageCache:
    """The pages of one app, least recently used first out."""

    def __init__(self, max_pages: int = MAX_PAGES) -> None:
        self.max_pages = max_pages
        self._pages: OrderedDict[Key, Page] = OrderedDict()
        self.paths: set[str] = set()  # paths with a page kept once: only these are looked up

    def get(self, key: Key) -> Page | None:
        page = self._pages.get(key)
        if page is not None:
            self._pages.move_to_end(key)
        return page

    def keep(self, key: Key, page: Page) -> None:
        self.paths.add(str(key[0]))
        self._pages[key] = page
        self._pages.move_to_end(key)
        while len(self._pages) > self.max_pages:
            self._pages.popitem(last=False)

    def __len__(self) -> int:
        return len(self._pages)


def page_key(request: Request) -> Key:
    """Everything a cacheable page's bytes depend on (see the module docstring)."""
    consent = getattr(request.state, "cookie_consent", None)
    choices = None
    if consent is not None:
        choices = (consent.policy.version, tuple(sorted(consent.choices.decided.items())))
    return (
        request.scope["path"],
        request.scope.get("query_string", b""),
        pick_language(request),
        choices,
        utcnow().date(),
    )


async def cached_page(request: Request, build: Callable[[], Response]) -> Response:
    """The page `build` renders for this request, rendered (in a worker thread) only the
    first time its inputs are seen."""
    cache: PageCache = request.app.state.page_cache
    key = page_key(request)
    page = cache.get(key)
    if page is None:
        response = await run_in_threadpool(build)
        route = getattr(request.scope.get("route"), "path", request.scope["path"])
        page = _page_of(response, str(route))
        if page is None:
            return response
        if len(request.scope.get("query_string", b"")) <= MAX_QUERY:
            cache.keep(key, page)
    return page.answer(request)


class PageCacheMiddleware:
    """Answers a GET for a page kept before, without routing (see the module docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        state = getattr(scope.get("app"), "state", None)
        cache: PageCache | None = getattr(state, "page_cache", None)
        if (
            cache is None
            or scope["type"] != "http"
            or scope["method"] != "GET"
            or scope["path"] not in cache.paths
        ):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        page = cache.get(page_key(request))
        if page is None:
            await self.app(scope, receive, send)
            return
        scope[ROUTE_KEY] = page.route
        await page.answer(request)(scope, receive, send)
