"""Dependencies routes declare, and the request's one unit of work on the database.

A route that declares `SessionDep` gets a session whose transaction the edge ends, never
the route: a route that returns commits; a refusal the domain audited (`Denied`,
`NotFound`, `Unauthenticated`, or what the route names with `keep_audit_on`) commits and is
re-raised, so its audit entry survives the error answer; anything else rolls back. A route
that answers an error page itself (a form re-rendered with its errors) raises `Revert`.

The commit happens before the client is answered. FastAPI (0.12x and later, 0.165 here)
runs the exit code of a `yield` dependency of the default scope ("request") only after
the response has been sent, so a commit there could fail after the client read "201
Created"; `get_session` is therefore declared with `scope="function"`, whose exit runs
when the route function returns, before the response goes out. Plain `def` routes end the
unit of work themselves, in the worker thread they already run in (`UnitOfWorkRoute`):
one hop to the thread pool per request, and no database I/O on the event loop.

The other dependencies here are `async` and do no I/O, so FastAPI runs them on the event
loop instead of sending each one to the worker-thread pool.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar
from weakref import WeakKeyDictionary

import anyio
import anyio.to_thread
from anyio.lowlevel import RunVar
from fastapi import Depends
from fastapi.routing import APIRoute
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.requests import Request

from schutz.clock import utcnow
from schutz.config import Settings
from schutz.db import session_limit
from schutz.errors import Denied, NotFound, Unauthenticated
from schutz.identity.signing_secrets import SecretsFile
from schutz.policy.engine import Engine
from schutz.policy.loader import PolicySet
from schutz.policy.schema import Policy
from schutz.subject_requests.tokens import Links
from schutz.vault.keys import Keyring, load_keyring
from schutz.web.errors import Busy, Revert
from schutz.web.i18n import pick_language

T = TypeVar("T")

REFUSALS: tuple[type[Exception], ...] = (Denied, NotFound, Unauthenticated)
"""Refusals the domains audit before raising them; their transaction is committed."""

SESSION_WAIT = 10.0
"""Seconds a request waits for a turn at the session gate before it is answered 503."""
RETRY_AFTER = 1

_KEEP = "schutz.keep"
_DONE = "schutz.done"


# --- the unit of work ---------------------------------------------------------------------


@contextmanager
def keep_audit_on(session: Session, *errors: type[Exception]) -> Iterator[None]:
    """Keep the transaction when one of `errors` (besides `REFUSALS`) leaves the block: the
    domain audited it (an integrity failure found on a read, say) and the entry must stay."""
    try:
        yield
    except errors as exc:
        session.info[_KEEP] = exc  # this error, not a later one the route lets through
        raise


def _keeps(session: Session, error: BaseException | None) -> bool:
    kept = session.info.pop(_KEEP, None)
    if error is None:
        return True
    if isinstance(error, Revert):
        return False
    return error is kept or isinstance(error, REFUSALS)


def end_work(session: Session, error: BaseException | None) -> None:
    """Commit or roll back `session`'s transaction as the rules above say (in this thread)."""
    if _keeps(session, error):
        session.commit()
    else:
        session.rollback()


@contextmanager
def unit_of_work(session: Session) -> Iterator[Session]:
    """One transaction ended by the rules above, for work that needs more than one per
    request (the staff sign-in commits its attempt count before the slow password check)."""
    try:
        yield session
    except BaseException as exc:
        end_work(session, exc)
        raise
    end_work(session, None)


def retry_on_race(session: Session, work: Callable[[], T]) -> T:
    """`work()`, and once more in a fresh transaction if a concurrent request inserted the
    same unique row first (the second call then finds the other request's row)."""
    try:
        return work()
    except IntegrityError:
        session.rollback()
        return work()


def committed(session: Session, items: Iterable[T]) -> Iterator[T]:
    """Each of `items` once the work that produced it is committed: a stream keeps the audit
    entry of what it sends before it sends it, and holds no write lock for long."""
    for item in items:
        session.commit()
        yield item


_current: ContextVar[Session | None] = ContextVar("schutz_session", default=None)
"""The request's session, for the worker thread that runs its route (anyio copies the
context into the thread)."""


def _finishing(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(endpoint)
    def run(*args: Any, **kwargs: Any) -> Any:
        session = _current.get()
        if session is None:
            return endpoint(*args, **kwargs)
        try:
            result = endpoint(*args, **kwargs)
        except BaseException as exc:
            _end_here(session, exc)
            raise
        _end_here(session, None)
        return result

    return run


def _end_here(session: Session, error: BaseException | None) -> None:
    session.info[_DONE] = True
    try:
        end_work(session, error)
    finally:
        session.close()


class UnitOfWorkRoute(APIRoute):
    """A route whose plain `def` endpoint ends the request's unit of work in the worker
    thread it runs in, before the response exists (see the module's docstring)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if not inspect.iscoroutinefunction(inspect.unwrap(endpoint)):
            endpoint = _finishing(endpoint)
        super().__init__(path, endpoint, **kwargs)


async def get_session(request: Request) -> AsyncIterator[Session]:
    """A session for this request, its transaction ended before the answer is sent.

    Making the session connects nothing; the first query does, in the thread the route
    runs in. At most `db.session_limit` requests hold a session at once (fewer than the
    pool's connections, so none waits inside the pool); the others wait here, on the event
    loop, holding no worker thread, for at most `SESSION_WAIT` seconds (then 503). Threads
    that waited inside the pool for connections held by requests that needed a thread to
    finish were the stall at 100 connections.
    """
    async with _gated(request.app):
        session: Session = request.app.state.sessions()
        token = _current.set(session)
        try:
            yield session
        except BaseException as exc:
            await _end_late(session, exc)
            raise
        else:
            await _end_late(session, None)
        finally:
            _current.reset(token)


async def _end_late(session: Session, error: BaseException | None) -> None:
    """End the unit of work an `async` route (or a failing dependency) left open.

    On SQLite a commit or rollback is a local file operation and runs here; over the
    network it goes to a thread, on a limiter of its own so that it never waits for one.
    """
    if session.info.pop(_DONE, False):
        return
    bind = session.get_bind() if session.in_transaction() else None
    if bind is None or bind.dialect.name == "sqlite":
        _end_here(session, error)
    else:
        await anyio.to_thread.run_sync(_end_here, session, error, limiter=anyio.CapacityLimiter(1))


@asynccontextmanager
async def session_for(app: Any) -> AsyncIterator[Session]:
    """A session behind the app's gate, for a route that must hold one only for part of
    its work (the staff sign-in holds none while it waits for the password check). The
    caller ends its transactions (`unit_of_work`); what is left open is rolled back."""
    async with _gated(app):
        session: Session = app.state.sessions()
        try:
            yield session
        finally:
            await _end_late(session, RuntimeError("left open"))


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


@asynccontextmanager
async def _gated(app: Any) -> AsyncIterator[None]:
    """A turn at the gate, or `Busy` (503, Retry-After) after `app.state.session_wait`."""
    gate = _gate(app)
    wait = getattr(app.state, "session_wait", SESSION_WAIT)
    try:
        with anyio.fail_after(wait):
            await gate.acquire()
    except TimeoutError:
        raise Busy(RETRY_AFTER) from None
    try:
        yield
    finally:
        gate.release()


# --- the rest ------------------------------------------------------------------------------


async def get_keyring(settings: SettingsDep) -> Keyring:
    # On the loop: a `stat` of the key file (the parsed keyring is cached), where a plain
    # `def` would cost the request one more hop to the thread pool and back.
    return load_keyring(settings)


async def get_rules(policies: PoliciesDep, policy: PolicyDep) -> Engine:
    # No I/O (each version's engine is compiled once and kept): on the loop, not a thread.
    return policies.engine(policy.version)


def get_links(request: Request, settings: SettingsDep) -> Links:
    """Signed links of data-subject requests (verification, export, the privacy centre)."""
    return Links(base_url=settings.base_url, secret=signing_secret(request))


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


async def get_form(request: Request) -> FormData:
    """The posted form, read on the event loop, for `def` routes with fields named at run
    time (Starlette keeps it, so reading it again costs nothing)."""
    return await request.form()


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings)]
PoliciesDep = Annotated[PolicySet, Depends(get_policies)]
PolicyDep = Annotated[Policy, Depends(get_policy)]
LangDep = Annotated[str, Depends(get_language)]
FormDep = Annotated[FormData, Depends(get_form)]
KeyringDep = Annotated[Keyring, Depends(get_keyring)]
RulesDep = Annotated[Engine, Depends(get_rules)]
LinksDep = Annotated[Links, Depends(get_links)]


@dataclass(frozen=True)
class Desk:
    """What a route on data-subject requests hands its service: the request's session, the
    policy's rules, the vault's keys, the signed links, and the language of the answer."""

    session: Session
    rules: Engine
    keyring: Keyring
    links: Links
    lang: str


async def get_desk(
    session: SessionDep, rules: RulesDep, keyring: KeyringDep, links: LinksDep, lang: LangDep
) -> Desk:
    return Desk(session, rules, keyring, links, lang)


DeskDep = Annotated[Desk, Depends(get_desk)]
