"""Walking the app's routes for the security tests: which exist, and a concrete URL for each."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from fastapi.routing import APIRoute

from schutz.web.auth import SESSION_COOKIE


def api_routes(routes: Iterable[object]) -> Iterator[APIRoute]:
    """Every route of the app, looking inside included routers."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from api_routes(inner.routes)
        elif isinstance(route, APIRoute):
            yield route


def concrete(path: str) -> str:
    """A URL for a route template: each {parameter} becomes an id that does not exist."""
    return re.sub(r"\{[^}]+\}", "0123456789abcdef", path)


def session_cookie(token: str) -> dict[str, str]:
    return {"Cookie": f"{SESSION_COOKIE}={token}"}
