"""Fixtures for the hardening tests: the demo app (every route), keys and staff of every role."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from sqlalchemy.orm import Session

from schutz.clock import utcnow
from schutz.config import Settings
from schutz.demo.app import create_demo_app
from schutz.identity.models import StaffUser
from schutz.identity.roles import API_KEY_ROLES, STAFF_ROLES
from schutz.identity.service import add_staff, create_api_key, start_session
from webapp import close_app


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The demo app, so that `app` and `client` (tests/conftest.py) have every route."""
    return settings.model_copy(update={"demo": True})


@pytest.fixture
def app(settings: Settings) -> Iterator[FastAPI]:
    """The demo app: the production routes and the demo shop's and sandbox's."""
    app = create_demo_app(settings)
    yield app
    close_app(app)


@pytest.fixture
def follow_redirects() -> bool:
    return False


@pytest.fixture
def api_keys(session: Session) -> dict[str, str]:
    keys = {}
    for role in API_KEY_ROLES:
        _, keys[role] = create_api_key(
            session, name=f"sec-{role}", role=role, actor="cli", now=utcnow()
        )
    session.commit()
    return keys


@pytest.fixture
def staff_cookies(session: Session) -> dict[str, str]:
    """A live session cookie per staff role (sessions opened directly: no argon2 per test)."""
    tokens: dict[str, str] = {}
    for role in STAFF_ROLES:
        user: StaffUser = add_staff(
            session,
            email=f"{role}@shop.example",
            role=role,
            password="a long enough secret",
            actor="cli",
            now=utcnow(),
        )
        _, tokens[role] = start_session(session, user, now=utcnow())
    session.commit()
    return tokens
