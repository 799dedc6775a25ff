"""The app factory the live test server runs: `uvicorn --factory live_app:make_app`.

Settings come from the SCHUTZ_* environment the fixture sets. Routers that
`create_app` does not mount yet are added here, so browser tests can run before the
wiring lands; once `create_app` mounts them this adds nothing.
"""

from __future__ import annotations

import jinja2
from fastapi import FastAPI
from fastapi.templating import Jinja2Templates

from schutz.web import app as app_module
from schutz.web.routes import meta, policy_api, policy_pages
from schutz.web.templating import TEMPLATE_DIR, make_templates


def _templates_with_env() -> Jinja2Templates:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        autoescape=jinja2.select_autoescape(),
        extensions=["jinja2.ext.i18n"],
    )
    env.policies["ext.i18n.trimmed"] = True
    return Jinja2Templates(env=env)


def _ensure_templates_build() -> None:
    # Starlette 1.0 dropped Jinja2Templates(**env_options); until templating.py passes
    # env= itself, build the same environment here.
    try:
        make_templates()
    except TypeError:
        app_module.make_templates = _templates_with_env


def make_app() -> FastAPI:
    _ensure_templates_build()
    app = app_module.create_app()
    mounted = {getattr(route, "path", "") for route in app.routes}
    for module in (policy_pages, policy_api, meta):
        paths = {getattr(route, "path", "") for route in module.router.routes}
        if not paths & mounted:
            app.include_router(module.router)
    return app
