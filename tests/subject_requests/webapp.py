"""An app with the request routers included (until app.py wires them), keys and mail helpers."""

from __future__ import annotations

import importlib
import re
import warnings
from collections.abc import Callable
from email import message_from_bytes, policy
from pathlib import Path
from urllib.parse import unquote

from fastapi import FastAPI
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from schutz import worker
from schutz.clock import utcnow
from schutz.config import Settings
from schutz.db import make_session_factory, transaction
from schutz.identity.service import add_staff, create_api_key
from schutz.web.app import create_app

with warnings.catch_warnings():
    # Starlette 1.x asks for httpx2 under its TestClient; httpx still works.
    warnings.simplefilter("ignore", UserWarning)
    from fastapi.testclient import TestClient

Headers = Callable[[str], dict[str, str]]
ROUTERS = ("subjects", "staff", "requests_api", "requests_pages", "account", "staff_requests")


def app_with_routes(settings: Settings) -> FastAPI:
    app = create_app(settings)
    for name in ROUTERS:
        module = importlib.import_module(f"schutz.web.routes.{name}")
        paths = {getattr(r, "path", "") for r in module.router.routes}
        if not any(getattr(r, "path", "") in paths for r in app.routes):
            app.include_router(module.router)
    return app


def create_app_with_routes() -> FastAPI:
    """A zero-argument factory for `uvicorn --factory` (the browser tests' live server)."""
    return app_with_routes(Settings())


def api_keys(engine: Engine) -> Headers:
    """`auth("dpo")`: headers with a fresh API key of that role."""
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
    email, password = f"{role}.requests@shop.example", "a long enough secret"
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


def deliver(sessions: sessionmaker[Session], settings: Settings) -> None:
    """Run the outbox worker once: queued mails become .eml files in the outbox dir."""
    worker.run_once(sessions, settings)


def delivered_to(settings: Settings, address: str) -> list[tuple[str, str]]:
    """(subject, body) of every .eml delivered to `address`, oldest first."""
    found = []
    outbox: Path = settings.outbox_dir
    for path in sorted(outbox.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns):
        mail = message_from_bytes(path.read_bytes(), policy=policy.default)
        if mail["To"] == address:
            body = mail.get_body(preferencelist=("plain",))
            text = body.get_content() if body is not None else ""
            found.append((str(mail["Subject"]), str(text)))
    return found


def token_in(body: str, path: str) -> str:
    """The token of the first link to `path` in a mail body."""
    found = re.search(re.escape(path) + r"\?token=(\S+)", body)
    assert found is not None, body
    return unquote(found.group(1))


def csrf_in(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None, html
    return found.group(1)


def form_token_in(html: str) -> str:
    found = re.search(r'name="form_token" value="([^"]+)"', html)
    assert found is not None, html
    return found.group(1)
