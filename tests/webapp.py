"""Helpers for tests that drive the web app: API-key headers, staff sign-in, mail and forms.

The fixtures built on these (`app`, `client`, `follow_redirects`, `auth`) live in
tests/conftest.py; this is a plain module (tests/ is on sys.path) for what is not a fixture.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from fastapi import FastAPI
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from schutz import worker
from schutz.clock import utcnow
from schutz.config import Settings
from schutz.cookies.choices import Choices, new_visitor_id
from schutz.db import make_session_factory, transaction
from schutz.identity.service import add_staff, create_api_key
from schutz.web.app import create_app
from sqlite_files import fresh_sqlite

with warnings.catch_warnings():
    # Starlette 1.x asks for httpx2 under its TestClient; httpx still works.
    warnings.simplefilter("ignore", UserWarning)
    from fastapi.testclient import TestClient

__all__ = [
    "GRACE_ORDER",
    "Headers",
    "TestClient",
    "api_keys",
    "close_app",
    "consent_cookie",
    "csrf_in",
    "deliver",
    "delivered_to",
    "form_token_in",
    "migrated_sqlite",
    "sign_in_staff",
    "sqlite_client",
    "token_in",
]

Headers = Callable[[str], dict[str, str]]

# A `POST /api/v1/subjects` body: a customer as the shop's order brings her.
GRACE_ORDER: dict[str, Any] = {
    "source": "order",
    "purposes": ["order_processing", "billing"],
    "data": {
        "email": "grace.hopper@example.org",
        "name": "Grace Hopper",
        "phone": "+49 30 7654321",
        "postal_address": {
            "street": "Unter den Linden 1",
            "postal_code": "10117",
            "city": "Berlin",
            "country": "DE",
        },
    },
}


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


def close_app(app: FastAPI) -> None:
    """Write what the analytics batch holds, then let go of the database."""
    buffer = getattr(app.state, "analytics_buffer", None)
    if buffer is not None:
        buffer.close()
    app.state.engine.dispose()


def consent_cookie(**decided: bool) -> str:
    """A `schutz_consent` cookie value with these choices, e.g. `analytics=True`."""
    return Choices(new_visitor_id(), "2026-11", decided).encode()


def migrated_sqlite(data_dir: Path, **update: Any) -> Settings:
    """Settings on a freshly migrated SQLite database in `data_dir`, for pages that hardly
    touch the database and need no PostgreSQL run."""
    return Settings(data_dir=data_dir, database_url=fresh_sqlite(data_dir / "s.db"), **update)


@contextmanager
def sqlite_client(data_dir: Path, *, follow_redirects: bool = True) -> Iterator[TestClient]:
    """A TestClient on the whole app over a migrated SQLite file in `data_dir`."""
    with TestClient(
        create_app(migrated_sqlite(data_dir)), follow_redirects=follow_redirects
    ) as test_client:
        yield test_client


def sign_in_staff(client: TestClient, engine: Engine, role: str) -> str:
    """Create a staff member with `role`, sign `client` in, return the console's CSRF token."""
    email, password = f"{role}.tester@shop.example", "a long enough secret"
    with transaction(make_session_factory(engine)) as session:
        add_staff(session, email=email, role=role, password=password, actor="cli", now=utcnow())
    page = client.get("/staff/login")
    data = {"email": email, "password": password, "csrf_token": csrf_in(page.text)}
    client.post("/staff/login", data=data, follow_redirects=False)
    return csrf_in(client.get("/staff/").text)


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


def verified_request(app: FastAPI, email: str, kind: str = "rectification") -> str:
    """A request of `kind` from `email`, matched to its subject by the worker and verified by
    staff (a letter, say): what a change of stored data must carry out. Returns its id."""
    from schutz.subject_requests import service as requests
    from schutz.subject_requests.tokens import Links
    from schutz.vault.keys import load_keyring

    settings: Settings = app.state.settings
    policies = app.state.policies
    rules = policies.engine(policies.in_force(utcnow().date()).version)
    keyring = load_keyring(settings)
    links = Links(base_url=settings.base_url, secret=app.state.secret.accepted(utcnow()))
    with transaction(app.state.sessions) as session:
        request_id = requests.submit(
            session, rules, keyring, links, kind=kind, email=email, channel="post",
            actor="staff:test", now=utcnow(),
        ).request_id  # fmt: skip
    deliver(app.state.sessions, settings)
    with transaction(app.state.sessions) as session:
        requests.verify_manually(
            session, rules, keyring, links, request_id, note="signed letter",
            actor="staff:test", now=utcnow(),
        )  # fmt: skip
    return request_id
