"""The liveness probe answered at the edge: `GET /healthz` skips the inner middleware stack.

An orchestrator asks every few seconds whether the process still serves; the answer needs
no cookie guard, rate or body limit, page cache, routing or exception layers, and going
through them cost several times the answer itself (measured under wrk: see bench/results.md).
`ProbeMiddleware` sits just inside the observing middleware, so the probe is still counted,
timed and given a request id; it carries the same security headers as every other answer.
Other methods on the path go on to the route, which answers 405 as before.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from schutz.web.page_cache import ROUTE_KEY
from schutz.web.security import SecurityHeadersMiddleware

LIVENESS_PATH = "/healthz"
_BODY = b'{"status":"ok"}'
_START: Message = {
    "type": "http.response.start",
    "status": 200,
    "headers": [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(_BODY)).encode("ascii")),
        (b"cache-control", b"no-store"),
    ],
}


async def _alive(_scope: Scope, _receive: Receive, send: Send) -> None:
    """200 `{"status":"ok"}`: the process answers; no database involved."""
    await send({**_START, "headers": list(_START["headers"])})
    await send({"type": "http.response.body", "body": _BODY})


class ProbeMiddleware:
    """Answers `GET`/`HEAD /healthz` itself; everything else goes on to `app`."""

    def __init__(self, app: ASGIApp, *, hsts: bool = False) -> None:
        self.app = app
        self.probe = SecurityHeadersMiddleware(_alive, hsts=hsts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["path"] == LIVENESS_PATH
            and scope["method"] in ("GET", "HEAD")
        ):
            scope[ROUTE_KEY] = LIVENESS_PATH  # the route the access log and metrics name
            await self.probe(scope, receive, send)
            return
        await self.app(scope, receive, send)
