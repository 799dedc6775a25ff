"""Liveness."""

from fastapi import APIRouter
from sqlalchemy import text

from schutz.web.deps import SessionDep

router = APIRouter()


@router.get("/healthz", tags=["operations"])
def healthz(session: SessionDep) -> dict[str, str]:
    session.execute(text("SELECT 1"))
    return {"status": "ok"}
