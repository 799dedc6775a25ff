"""`POST /api/v1/subjects/{id}/events`: the shop reports when a retention period starts.

Some periods the policy states count from moments only the shop sees: six months after
the last contact, three years after the contract ended. The shop posts them here
(`last_contact`, `contract_ended`); `schutz retention run` counts from the newest of each.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from schutz.clock import utcnow
from schutz.identity.actor import Actor
from schutz.retention.events import record_subject_event
from schutz.web.auth import require_role
from schutz.web.deps import SessionDep, UnitOfWorkRoute

router = APIRouter(prefix="/api/v1/subjects", tags=["subjects"], route_class=UnitOfWorkRoute)

Reporter = Annotated[Actor, Depends(require_role("shop", "support"))]


class SubjectEventCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["last_contact", "contract_ended"] = Field(
        description="`last_contact`: the customer wrote, called or ordered; "
        "`contract_ended`: the customer account or contract was closed."
    )
    at: AwareDatetime | None = Field(
        default=None, description="When it happened (with a time zone); default now."
    )


class SubjectEventPublic(BaseModel):
    subject_id: str
    type: str
    at: datetime


@router.post(
    "/{subject_id}/events",
    status_code=201,
    response_model=SubjectEventPublic,
    responses={404: {"description": "Unknown or erased subject."}},
)
def post_subject_event(
    subject_id: str, body: SubjectEventCreate, session: SessionDep, actor: Reporter
) -> SubjectEventPublic:
    """Record a `last_contact` or `contract_ended` event; audited. 422 for another type or
    a time in the future, 404 for an unknown or erased subject."""
    row = record_subject_event(
        session, subject_id, body.type, at=body.at, actor=actor.label, now=utcnow()
    )
    return SubjectEventPublic(subject_id=subject_id, type=row.type, at=row.at)
