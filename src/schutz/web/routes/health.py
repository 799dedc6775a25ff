"""Liveness (`/healthz`: the process answers) and readiness (`/readyz`: the database does too).

An orchestrator restarts a process whose liveness check fails and stops sending traffic to
one that is not ready; so liveness must not touch the database (an outage there would
restart every healthy process), and readiness must.
"""

import logging
from functools import cache

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import Response

from schutz.web.deps import SessionDep, UnitOfWorkRoute
from schutz.web.errors import Revert
from schutz.web.plain_route import PlainRoute

log = logging.getLogger("schutz.health")
router = APIRouter(tags=["operations"], route_class=UnitOfWorkRoute)

NO_STORE = {"Cache-Control": "no-store"}


class Status(BaseModel):
    status: str


@cache
def _body(status: str) -> bytes:
    return Status(status=status).model_dump_json().encode()


def _answer(status: str, code: int = 200) -> Response:
    return Response(_body(status), code, NO_STORE, media_type="application/json")


async def healthz(_request: Request) -> Response:
    """200 `{"status": "ok"}` while the process serves requests; no database involved."""
    return _answer("ok")


# A plain Starlette route, matched before every router: FastAPI's dependency, validation
# and telemetry layers cost a health check several times its own work. (So it is not in the
# OpenAPI document; an orchestrator's probe needs none.)
LIVENESS = PlainRoute("/healthz", healthz, methods=["GET"])


@router.get(
    "/readyz",
    response_model=Status,
    responses={503: {"model": Status, "description": "The database does not answer."}},
)
def readyz(session: SessionDep) -> Response:
    """200 `{"status": "ready"}` when the database answers a query, else 503."""
    try:
        session.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        # The type only: a driver's message can carry the database URL.
        log.warning("not ready: the database does not answer (%s)", type(exc).__name__)
        raise Revert(_answer("database unavailable", 503)) from None
    return _answer("ready")
