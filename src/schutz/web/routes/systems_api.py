"""`/api/v1/requests/{id}/systems/{name}`: the operator's systems answer a request's event.

A system authenticates with `Authorization: Bearer <token>`, where the token is the
HMAC-SHA256 of the request id and the system's name under the system's signing secret
(`schutz.client.callback_token` computes it). A DPO or admin API key may answer for a system
that cannot (a manual task). Anyone else gets 401 before the request is looked up, so a
stranger learns nothing of which requests exist.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field

from schutz.clock import utcnow
from schutz.errors import Conflict, Unauthenticated
from schutz.identity.service import api_key_actor, authenticate_api_key
from schutz.subject_requests import records, waiting
from schutz.systems import answers
from schutz.systems.endpoints import token_matches
from schutz.web.deps import KeyringDep, LinksDep, RulesDep, SessionDep, UnitOfWorkRoute

router = APIRouter(prefix="/api/v1/requests", tags=["systems"], route_class=UnitOfWorkRoute)
_bearer = HTTPBearer(auto_error=False, scheme_name="ApiKey")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


class SystemAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["done", "failed"]
    note: str | None = Field(default=None, max_length=1000, description="No personal data.")


class SystemData(BaseModel):
    model_config = ConfigDict(extra="forbid")

    data: dict[str, Any] = Field(description="What the system holds of the subject (JSON).")


class SystemAnswered(BaseModel):
    request_id: str
    system: str
    request_status: str


def _caller(session: SessionDep, request_id: str, system: str, credentials: Credentials) -> str:
    """The audit label of who answers: the system itself, or a DPO/admin API key; else 401."""
    if credentials is None:
        raise Unauthenticated("the system's callback token is required")
    token = credentials.credentials
    if token_matches(session, system, request_id, token):
        return f"system:{system}"
    if token.startswith("schutz_"):
        try:
            actor = api_key_actor(authenticate_api_key(session, token))
        except Unauthenticated:
            actor = None
        if actor is not None and (actor.has_role("dpo") or actor.has_role("admin")):
            return actor.label
    raise Unauthenticated("the system's callback token is required")


Caller = Annotated[str, Depends(_caller)]


@router.post("/{request_id}/systems/{system}", response_model=SystemAnswered)
def answer_for_system(
    request_id: str,
    system: str,
    body: SystemAnswer,
    session: SessionDep,
    rules: RulesDep,
    keyring: KeyringDep,
    links: LinksDep,
    caller: Caller,
) -> SystemAnswered:
    """The system did its part (`done`) or could not (`failed`); repeats are no-ops."""
    request = waiting.answer(
        session, rules, keyring, links, request_id, system,
        status=body.status, note=body.note, actor=caller, now=utcnow(),
    )  # fmt: skip
    return SystemAnswered(request_id=request.id, system=system, request_status=request.status)


@router.post("/{request_id}/systems/{system}/data", response_model=SystemAnswered)
def give_data(
    request_id: str,
    system: str,
    body: SystemData,
    session: SessionDep,
    keyring: KeyringDep,
    caller: Caller,
) -> SystemAnswered:
    """For an access request: what the system holds, for the subject's package (Art. 15)."""
    # Locked like an answer: a parallel "done" cannot finish the package before this lands.
    request = waiting.locked_request(session, request_id)
    if request.kind != "access" or request.subject_id is None:
        raise Conflict("only an access request takes a system's data")
    answers.store_data(session, keyring, request.id, system, request.subject_id, body.data)
    records.record_event(session, request, "system_data", actor=caller, now=utcnow(), system=system)
    return SystemAnswered(request_id=request.id, system=system, request_status=request.status)
