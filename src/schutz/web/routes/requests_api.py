"""`/api/v1/requests`: data-subject requests over the API (Art. 12, 15-21 GDPR, C11).

A new request answers 202 with the same body whether or not the address is known; the
verification mail goes to that address alone. Nothing here names a person: the request's
status, dates and outcome are ids and codes.
"""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import JSONResponse

from schutz.clock import utcnow
from schutz.errors import Denied, InvalidInput, Unauthenticated
from schutz.identity.actor import Actor
from schutz.identity.service import api_key_actor, authenticate_api_key
from schutz.subject_requests import service
from schutz.subject_requests.export import build_package, exportable_request
from schutz.subject_requests.models import DataRequest
from schutz.subject_requests.tokens import EXPORT, EXPORT_MAX_AGE
from schutz.systems import answers
from schutz.systems.models import RequestSystem
from schutz.web.auth import require_role
from schutz.web.deps import (
    KeyringDep,
    LangDep,
    LinksDep,
    RulesDep,
    SessionDep,
    UnitOfWorkRoute,
    signing_secret,
)

router = APIRouter(prefix="/api/v1/requests", tags=["requests"], route_class=UnitOfWorkRoute)

Kind = Literal[
    "access", "rectification", "completion", "erasure", "objection", "restriction", "portability"
]
Channel = Literal["web", "api", "post", "fax", "phone", "email"]
Submitter = Annotated[Actor, Depends(require_role("shop", "support", "dpo", "admin"))]
Reader = Annotated[Actor, Depends(require_role("shop", "support", "dpo", "admin"))]
Dpo = Annotated[Actor, Depends(require_role("dpo"))]
NO_STORE = {"Cache-Control": "no-store"}
# The same scheme as the other routes (merged in OpenAPI), optional here: a link may do.
_bearer = HTTPBearer(auto_error=False, scheme_name="ApiKey")


secret_of = signing_secret


class RequestCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Kind
    email: str = Field(max_length=320, description="The subject's address; the mail goes here.")
    channel: Channel = "api"
    details: str | None = Field(
        default=None, max_length=4000, description="Free text; sealed under the subject's key."
    )
    lang: Literal["en", "de"] = "en"
    external_ref: str | None = Field(
        default=None, max_length=80, description="The operator's own reference (no personal data)."
    )


class RequestAccepted(BaseModel):
    request_id: str
    status: str
    due_at: datetime


class SystemState(BaseModel):
    system: str
    event: str
    status: str = Field(description="pending, done or failed")
    answered_at: datetime | None

    @classmethod
    def of(cls, row: RequestSystem) -> SystemState:
        return cls(
            system=row.system, event=row.event, status=row.status, answered_at=row.answered_at
        )


class RequestPublic(BaseModel):
    request_id: str
    kind: str
    channel: str
    status: str = Field(
        description="received, awaiting_verification, in_progress, awaiting_systems,"
        " completed, refused, expired"
    )
    received_at: datetime
    due_at: datetime
    overdue: bool
    verified_at: datetime | None
    verification: str | None
    extended_months: int
    extension_reason: str | None
    approved_at: datetime | None
    completed_at: datetime | None
    outcome: str | None
    held_until: date | None = Field(description="A held-back erasure completes on this day.")
    refusal_reason: str | None
    external_ref: str | None = None
    systems: list[SystemState] = Field(
        default_factory=list, description="Each system asked, and its answer."
    )
    subject_id: str | None = Field(default=None, description="For staff roles only.")

    @classmethod
    def of(
        cls, r: DataRequest, now: datetime, systems: list[RequestSystem] | None = None
    ) -> RequestPublic:
        return cls(
            external_ref=r.external_ref,
            systems=[SystemState.of(row) for row in systems or []],
            request_id=r.id,
            kind=r.kind,
            channel=r.channel,
            status=r.status,
            received_at=r.received_at,
            due_at=r.due_at,
            overdue=service.is_overdue(r, now),
            verified_at=r.verified_at,
            verification=r.verification,
            extended_months=r.extended_months,
            extension_reason=r.extension_reason,
            approved_at=r.approved_at,
            completed_at=r.completed_at,
            outcome=r.outcome,
            held_until=r.held_until,
            refusal_reason=r.refusal_reason,
        )


@router.post("", status_code=202, response_model=RequestAccepted)
def submit_request(
    body: RequestCreate,
    session: SessionDep,
    rules: RulesDep,
    keyring: KeyringDep,
    links: LinksDep,
    actor: Submitter,
) -> RequestAccepted:
    """Record the request and mail its confirmation link to `email` (never elsewhere)."""
    result = service.submit(
        session,
        rules,
        keyring,
        links,
        kind=body.kind,
        email=body.email,
        channel=body.channel,
        details=body.details,
        lang=body.lang,
        external_ref=body.external_ref,
        actor=actor.label,
        now=utcnow(),
    )
    return RequestAccepted(request_id=result.request_id, status=result.status, due_at=result.due_at)


class RequestPage(BaseModel):
    requests: list[RequestPublic]
    next: str | None = Field(description="Pass as `cursor` for the next page; null at the end.")


STAFF_ROLES = ("support", "dpo", "admin")


def _cursor(value: str) -> tuple[datetime, str]:
    try:
        due, _, request_id = base64.urlsafe_b64decode(value.encode("ascii")).decode().partition("|")
        at = datetime.fromisoformat(due)
        if at.tzinfo is None:
            raise ValueError("naive")  # every cursor this API gives carries its offset
        return at.astimezone(UTC), request_id[:32]
    except (ValueError, UnicodeError, OverflowError):
        raise InvalidInput("cursor: not a cursor this API gave") from None


def _next(rows: list[DataRequest], limit: int) -> str | None:
    if len(rows) < limit:
        return None
    last = rows[-1]
    return base64.urlsafe_b64encode(f"{last.due_at.isoformat()}|{last.id}".encode()).decode()


@router.get("", response_model=RequestPage, response_model_exclude_unset=True)
def list_requests(
    session: SessionDep,
    actor: Reader,
    status: Annotated[str | None, Query(max_length=32)] = None,
    kind: Annotated[str | None, Query(max_length=32)] = None,
    overdue: bool = False,
    subject_id: Annotated[str | None, Query(max_length=32)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> RequestPage:
    """Requests, the most urgent first, a page at a time (keyset: pass `next` as `cursor`).
    Staff roles (support, dpo, admin) see each request's `subject_id`; others do not."""
    staff = any(actor.has_role(role) for role in STAFF_ROLES)
    if subject_id is not None and not staff:
        # Filtering by a subject would tell which of the caller's customers asked for what.
        raise Denied(
            "subject_id: only support, dpo and admin may filter by subject",
            "the subject filter is for staff roles",
            "role",
        )
    now = utcnow()
    rows = list(
        service.list_requests(
            session, status=status, kind=kind, overdue=overdue, subject_id=subject_id, now=now,
            limit=limit, after=_cursor(cursor) if cursor else None,
        )
    )  # fmt: skip
    systems = answers.answers_of(session, [r.id for r in rows])
    page = []
    for r in rows:
        item = RequestPublic.of(r, now, systems[r.id])
        if staff:
            item.subject_id = r.subject_id
        page.append(item)
    return RequestPage(requests=page, next=_next(rows, limit))


@router.get("/{request_id}", response_model=RequestPublic, response_model_exclude_unset=True)
def read_request(request_id: str, session: SessionDep, actor: Reader) -> RequestPublic:
    request = service.get_request(session, request_id)
    systems = answers.answers_of(session, [request.id])[request.id]
    item = RequestPublic.of(request, utcnow(), systems)
    if any(actor.has_role(role) for role in STAFF_ROLES):
        item.subject_id = request.subject_id
    return item


@router.post("/{request_id}/approve", response_model=RequestPublic)
def approve_request(
    request_id: str, session: SessionDep, rules: RulesDep, keyring: KeyringDep, actor: Dpo
) -> RequestPublic:
    """The DPO approves a verified erasure: the subject is crypto-shredded (or, under a
    legal hold, restricted until it lapses), and told so."""
    now = utcnow()
    request = service.approve_erasure(
        session, rules, keyring, request_id, actor=actor.label, now=now
    )
    return RequestPublic.of(request, now)


def export_actor(
    request_id: str,
    session: SessionDep,
    links: LinksDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    token: Annotated[str, Query(max_length=400)] = "",
) -> str:
    """Who may download: the DPO's API key, or the subject through the signed link."""
    if token:
        if links.request_of(EXPORT, token, max_age=EXPORT_MAX_AGE) != request_id:
            raise InvalidInput("this link is not valid")
        return "subject"
    if credentials is None:
        raise Unauthenticated("an API key with role dpo, or the link from the mail, is required")
    actor = api_key_actor(authenticate_api_key(session, credentials.credentials))
    if not actor.has_role("dpo"):
        raise Denied(f"an API key with role {actor.role!r} may not do this", reason="role")
    return actor.label


@router.get("/{request_id}/export")
def export_request(
    request_id: str,
    session: SessionDep,
    rules: RulesDep,
    keyring: KeyringDep,
    lang: LangDep,
    who: Annotated[str, Depends(export_actor)],
) -> JSONResponse:
    """The access package (Art. 15, 20 GDPR) as JSON; every download is audited."""
    request = exportable_request(session, request_id)
    package = build_package(
        session, rules.policy, keyring, request, lang=lang, actor=who, now=utcnow()
    )
    return JSONResponse(
        package,
        headers={
            **NO_STORE,
            "Content-Disposition": f'attachment; filename="personal-data-{request.id}.json"',
        },
    )
