"""One unit of work per request: what a route wrote is kept only as `web/deps.py` says.

Probe routes on the real app write one audit entry and then end in each of the ways a
route can end; the database says what was kept. They run as plain `def` routes (ended in
their worker thread) and as `async` ones (ended by the dependency), on both databases.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import anyio
import pytest
from fastapi import APIRouter, FastAPI
from sqlalchemy import Engine, event, func, select
from sqlalchemy.orm import Session
from starlette.responses import JSONResponse

from schutz.audit import service as audit
from schutz.audit.models import AuditEntry
from schutz.clock import utcnow
from schutz.errors import Conflict, Denied, NotFound
from schutz.vault.crypto import IntegrityCheckError
from schutz.web import deps
from schutz.web.deps import SessionDep, UnitOfWorkRoute, keep_audit_on
from schutz.web.errors import Revert
from webapp import TestClient

ENDINGS: dict[str, Callable[[Session], Any]] = {}


def ending(name: str) -> Callable[[Callable[[Session], Any]], Callable[[Session], Any]]:
    def register(fn: Callable[[Session], Any]) -> Callable[[Session], Any]:
        ENDINGS[name] = fn
        return fn

    return register


@ending("returns")
def _returns(session: Session) -> Any:
    return {"ok": True}


@ending("denied")
def _denied(session: Session) -> Any:
    raise Denied("not for you", reason="test")


@ending("not-found")
def _not_found(session: Session) -> Any:
    raise NotFound("no such thing")


@ending("conflict")
def _conflict(session: Session) -> Any:
    raise Conflict("clashes")


@ending("crashes")
def _crashes(session: Session) -> Any:
    raise RuntimeError("a bug halfway through")


@ending("integrity")
def _integrity(session: Session) -> Any:
    raise IntegrityCheckError("altered")


@ending("integrity-kept")
def _integrity_kept(session: Session) -> Any:
    with keep_audit_on(session, IntegrityCheckError):
        raise IntegrityCheckError("altered")


@ending("reverted")
def _reverted(session: Session) -> Any:
    raise Revert(JSONResponse({"detail": "shown again"}, status_code=422))


@ending("commit-fails")
def _commit_fails(session: Session) -> Any:
    def refuse(_session: Session) -> None:
        raise RuntimeError("the disk is full")

    event.listen(session, "before_commit", refuse)
    return {"ok": True}


def _write(session: Session, name: str) -> None:
    audit.record(session, actor="test", action=f"uow.{name}", now=utcnow())


def _probe_router() -> APIRouter:
    router = APIRouter(route_class=UnitOfWorkRoute)

    @router.post("/test/uow/sync/{name}")
    def sync_probe(name: str, session: SessionDep) -> Any:
        _write(session, name)
        return ENDINGS[name](session)

    @router.post("/test/uow/async/{name}")
    async def async_probe(name: str, session: SessionDep) -> Any:
        _write(session, name)  # SQLite only in spirit: tests may block their own loop
        return ENDINGS[name](session)

    return router


@pytest.fixture
def probe(app: FastAPI) -> Iterator[TestClient]:
    app.include_router(_probe_router())
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def _kept(engine: Engine, name: str) -> int:
    with Session(engine) as session:
        return (
            session.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.action == f"uow.{name}")
            )
            or 0
        )


# (ending, status the client gets, whether the write is kept)
CASES = [
    ("returns", 200, True),
    ("denied", 403, True),  # an audited refusal keeps its entry
    ("not-found", 404, True),
    ("conflict", 409, False),
    ("crashes", 500, False),  # an exception mid-route leaves nothing written
    ("integrity", 500, False),
    ("integrity-kept", 500, True),
    ("reverted", 422, False),  # a form shown again keeps nothing
    ("commit-fails", 500, False),  # the client never hears "200" for work not committed
]


@pytest.mark.parametrize("style", ["sync", "async"])
@pytest.mark.parametrize(("name", "status", "kept"), CASES)
def test_a_request_keeps_its_work_only_as_its_ending_allows(
    probe: TestClient, engine: Engine, style: str, name: str, status: int, kept: bool
) -> None:
    answer = probe.post(f"/test/uow/{style}/{name}")
    assert answer.status_code == status, answer.text
    assert _kept(engine, name) == (1 if kept else 0)
    assert "Traceback" not in answer.text


def test_the_integrity_failure_answer_is_json_without_the_blob(probe: TestClient) -> None:
    answer = probe.post("/test/uow/sync/integrity")
    assert answer.json() == {"detail": "stored data failed its integrity check"}


def test_a_request_that_waits_too_long_for_a_database_turn_gets_503_json(
    app: FastAPI, client: TestClient
) -> None:
    app.state.session_wait = 0.05
    held: list[anyio.Semaphore] = []

    async def take_every_turn() -> None:
        gate = deps._gate(app)
        while gate.value:
            await gate.acquire()
            held.append(gate)

    async def give_back() -> None:
        for gate in held:
            gate.release()

    assert client.portal is not None
    client.portal.call(take_every_turn)
    try:
        busy = client.get("/readyz")
        assert client.get("/healthz").status_code == 200  # needs no turn
    finally:
        client.portal.call(give_back)
    assert busy.status_code == 503
    assert busy.headers["Retry-After"] == "1"
    assert busy.headers["content-type"] == "application/json"
    assert busy.json() == {"detail": "the server is busy; try again shortly"}
    assert client.get("/readyz").status_code == 200  # the turns came back
