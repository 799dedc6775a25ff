"""`GET /api/v1/audiences/{purpose}`: NDJSON of who may be written to for a purpose now.

The stream runs in its own database session, committing the audit entry of each batch of
reads as it goes; a client that stops reading stops the reads.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session, sessionmaker
from starlette.requests import Request
from starlette.responses import StreamingResponse

from schutz.clock import utcnow
from schutz.identity.actor import Actor
from schutz.newsletter.audience import AUDIENCE_PURPOSES, audience_batches, check_audience
from schutz.policy.engine import Engine
from schutz.vault.keys import Keyring
from schutz.web.auth import require_role
from schutz.web.deps import KeyringDep, RulesDep, committed

router = APIRouter(tags=["audiences"])

Marketing = Annotated[Actor, Depends(require_role("marketing"))]


@router.get(
    "/api/v1/audiences/{purpose}",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"application/x-ndjson": {"example": '{"subject_id": "…", "email": "…"}'}},
            "description": "One JSON object per line.",
        },
        422: {"description": "Not a purpose, or a purpose without an audience."},
    },
)
def get_audience(
    purpose: str, request: Request, rules: RulesDep, keyring: KeyringDep, actor: Marketing
) -> StreamingResponse:
    """Subjects allowed for `purpose` now: `newsletter` = confirmed and not withdrawn;
    `direct_marketing`, `market_research` = not objected. Every batch read is audited,
    naming the subjects it read."""
    check_audience(rules, purpose, actor.role)  # a clear 422 before the 200 and the stream
    sessions: sessionmaker[Session] = request.app.state.sessions
    return StreamingResponse(
        _lines(sessions, rules, keyring, purpose, actor), media_type="application/x-ndjson"
    )


def _lines(
    sessions: sessionmaker[Session], rules: Engine, keyring: Keyring, purpose: str, actor: Actor
) -> Iterator[bytes]:
    # Commit per batch, before its lines leave: the audit entry of what was sent is kept and
    # no write lock is held long. Candidates come in keyset pages, so no cursor stays open.
    with sessions() as session:
        batches = audience_batches(
            session, rules, keyring, purpose, actor=actor.label, role=actor.role, now=utcnow()
        )
        for batch in committed(session, batches):
            if batch:
                yield "".join(
                    json.dumps({"subject_id": s, "email": e}) + "\n" for s, e in batch
                ).encode()


__all__ = ["AUDIENCE_PURPOSES", "router"]
