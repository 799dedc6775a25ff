"""The app factory the live test server runs: `uvicorn --factory live_app:make_app`.

Settings come from the SCHUTZ_* environment the fixture sets. Routers that
`create_app` does not mount yet are added here, so browser tests can run before the
wiring lands; once `create_app` mounts them this adds nothing.
"""

from __future__ import annotations

from fastapi import FastAPI

from schutz.web.app import create_app
from schutz.web.routes import meta, policy_api, policy_pages


def make_app() -> FastAPI:
    app = create_app()
    mounted = {getattr(route, "path", "") for route in app.routes}
    for module in (policy_pages, policy_api, meta):
        paths = {getattr(route, "path", "") for route in module.router.routes}
        if not paths & mounted:
            app.include_router(module.router)
    return app
