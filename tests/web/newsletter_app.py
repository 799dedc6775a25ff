"""An app with this issue's routers included (until app.py wires them), and API-key headers."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from types import ModuleType

from fastapi import FastAPI
from sqlalchemy import Engine

from schutz.clock import utcnow
from schutz.config import Settings
from schutz.db import make_session_factory, transaction
from schutz.identity.service import create_api_key
from schutz.web.app import create_app
from schutz.web.routes import audiences, consents, contact, newsletter, staff_paper, subjects

with warnings.catch_warnings():
    # Starlette 1.x asks for httpx2 under its TestClient; httpx still works.
    warnings.simplefilter("ignore", UserWarning)
    from fastapi.testclient import TestClient

Headers = Callable[[str], dict[str, str]]
MODULES: tuple[ModuleType, ...] = (subjects, consents, audiences, newsletter, contact, staff_paper)


def app_with_routes(settings: Settings) -> FastAPI:
    app = create_app(settings)
    for module in MODULES:
        paths = {getattr(r, "path", "") for r in module.router.routes}
        if not any(getattr(r, "path", "") in paths for r in app.routes):
            app.include_router(module.router)
    return app


def api_keys(engine: Engine) -> Headers:
    """`auth("marketing")`: headers with a fresh API key of that role."""
    keys: dict[str, str] = {}

    def headers(role: str) -> dict[str, str]:
        if role not in keys:
            with transaction(make_session_factory(engine)) as session:
                _, keys[role] = create_api_key(
                    session, name=f"test-{role}", role=role, actor="test", now=utcnow()
                )
        return {"Authorization": f"Bearer {keys[role]}"}

    return headers


def sign_in_staff(client: TestClient, engine: Engine, role: str) -> str:
    """Create a staff member with `role`, sign `client` in, return the console's CSRF token."""
    import re

    from schutz.identity.service import add_staff

    email, password = f"{role}.tester@shop.example", "a long enough secret"
    with transaction(make_session_factory(engine)) as session:
        add_staff(session, email=email, role=role, password=password, actor="cli", now=utcnow())
    page = client.get("/staff/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    data = {"email": email, "password": password, "csrf_token": token.group(1)}
    client.post("/staff/login", data=data, follow_redirects=False)
    dashboard = client.get("/staff/")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', dashboard.text)
    assert csrf is not None, dashboard.text
    return csrf.group(1)


def create_app_with_routes() -> FastAPI:
    """A zero-argument factory for `uvicorn --factory` (the browser tests' live server)."""
    return app_with_routes(Settings())
