"""Dependencies routes declare: the database session, the policy in force, the language.

Every dependency here is `async` and does no I/O, so FastAPI runs it on the event loop
instead of sending it to the worker-thread pool: each sync dependency costs a round trip
between the loop and a thread, and a purpose-checked read used to make ten of them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any
from weakref import WeakKeyDictionary

import anyio
import anyio.to_thread
from anyio.lowlevel import RunVar
from fastapi import Depends
from sqlalchemy.orm import Session
from starlette.requests import Request

from schutz.clock import utcnow
from schutz.config import Settings
from schutz.db import session_limit
from schutz.identity.signing_secrets import SecretsFile
from schutz.policy.loader import PolicySet
from schutz.policy.schema import Policy
from schutz.web.i18n import pick_language


async def get_session(request: Request) -> AsyncIterator[Session]:
    """A session for this request, closed after the answer is sent.

    Making the session connects nothing; the first query does, in the thread the route
    runs in. At most `db.session_limit` requests hold a session at once (fewer than the
    pool's connections, so none waits inside the pool); the others wait here, on the event
    loop, holding no worker thread. Threads that waited inside the pool for connections held
    by requests that needed a thread to finish were the stall at 100 connections.
    """
    async with session_for(request.app) as session:
        yield session


@asynccontextmanager
async def session_for(app: Any) -> AsyncIterator[Session]:
    """A session behind the app's gate, for a route that must hold one only for part of
    its work (the staff sign-in holds none while it waits for the password check)."""
    async with _gate(app):
        session: Session = app.state.sessions()
        try:
            yield session
        finally:
            await _close(session)


_gates: RunVar[WeakKeyDictionary[Any, anyio.Semaphore]] = RunVar("schutz_session_gates")


def _gate(app: Any) -> anyio.Semaphore:
    """The app's limit on requests holding a session, one per event loop (tests run many)."""
    try:
        gates = _gates.get()
    except LookupError:
        gates = WeakKeyDictionary()
        _gates.set(gates)
    gate = gates.get(app)
    if gate is None:
        gate = gates[app] = anyio.Semaphore(session_limit(app.state.engine))
    return gate


async def _close(session: Session) -> None:
    # With the transaction ended (routes commit) closing touches no database; a rollback on
    # SQLite is a local file operation. Only a rollback over the network goes to a thread,
    # on a limiter of its own so that it never waits for one (as FastAPI exits sync
    # dependencies).
    bind = session.get_bind() if session.in_transaction() else None
    if bind is None or bind.dialect.name == "sqlite":
        session.close()
    else:
        await anyio.to_thread.run_sync(session.close, limiter=anyio.CapacityLimiter(1))


def signing_secret(request: Request) -> list[bytes]:
    """The secrets that verify signed links now, the one that signs last (itsdangerous takes
    them so); from `<data_dir>/secret.key`, which create_app opens and `schutz secret rotate`
    changes."""
    secrets: SecretsFile = request.app.state.secret
    return secrets.accepted(utcnow())


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_policies(request: Request) -> PolicySet:
    policies: PolicySet = request.app.state.policies
    return policies


async def get_policy(request: Request) -> Policy:
    policies: PolicySet = request.app.state.policies
    return policies.in_force(utcnow().date())


async def get_language(request: Request) -> str:
    return pick_language(request)


SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
PoliciesDep = Annotated[PolicySet, Depends(get_policies)]
PolicyDep = Annotated[Policy, Depends(get_policy)]
LangDep = Annotated[str, Depends(get_language)]
