"""A plain Starlette route for the hottest paths, named in metrics and logs like any other."""

from __future__ import annotations

from starlette.routing import Match, Route
from starlette.types import Scope


class PlainRoute(Route):
    """A `Route` matched before FastAPI's routers, skipping their dependency and validation
    layers. FastAPI's own routes put themselves in the scope, which is how the access log
    and `/metrics` name an answer by its route template (`web/observe.py`); Starlette's do
    not, so this one does too (or the beacon would be counted under "mount")."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child = super().matches(scope)
        if match is not Match.NONE:
            child = {**child, "route": self}
        return match, child
