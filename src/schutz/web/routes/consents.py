"""`POST /api/v1/consents` and `GET /api/v1/subjects/{id}/consents`: the ledger over HTTP.

A consent, withdrawal or objection that reached the operator some other way (the shop's
checkout, a letter, a call) is recorded here with its channel and evidence (C8). A subject
named by e-mail is found through the vault's blind index; the address goes in the body,
never in a URL.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field, model_validator

from schutz.clock import utcnow
from schutz.consent import service as consent
from schutz.consent.models import ConsentEvent
from schutz.errors import NotFound
from schutz.identity.actor import Actor
from schutz.systems import events as system_events
from schutz.vault import service as vault
from schutz.web.auth import require_role
from schutz.web.deps import KeyringDep, PolicyDep, SessionDep, UnitOfWorkRoute

router = APIRouter(tags=["consents"], route_class=UnitOfWorkRoute)

Recorder = Annotated[Actor, Depends(require_role("shop", "support", "marketing", "dpo", "admin"))]
Reader = Annotated[Actor, Depends(require_role("shop", "support", "marketing", "dpo", "admin"))]
PROOF_READERS = ("dpo", "admin")


class ConsentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject_id: str | None = Field(default=None, max_length=32)
    email: str | None = Field(default=None, max_length=320, description="Found by blind index.")
    purpose: str = Field(examples=["direct_marketing"])
    action: Literal["grant", "withdraw", "object"]
    channel: Literal["web", "post", "fax", "email", "phone", "api"]
    evidence: str | None = Field(
        default=None, max_length=500, description="E.g. the scan reference of a letter or fax."
    )

    @model_validator(mode="after")
    def _one_subject(self) -> ConsentCreate:
        if (self.subject_id is None) == (self.email is None):
            raise ValueError("give either subject_id or email")
        return self


class ConsentRecorded(BaseModel):
    event_id: int
    subject_id: str
    purpose: str
    action: str
    channel: str
    at: datetime
    state: str = Field(description="The purpose's state after this event.")


class PurposeStatePublic(BaseModel):
    state: str
    since: datetime


class ConsentEventPublic(BaseModel):
    event_id: int
    purpose: str
    action: str
    channel: str
    at: datetime
    policy_version: str
    wording_hash: str | None = None
    wording_version: str | None = None
    evidence: str | None = None
    recorded_by: str
    ip_truncated: str | None = Field(default=None, description="DPO and admin only.")
    user_agent: str | None = Field(default=None, description="DPO and admin only.")


class SubjectConsents(BaseModel):
    subject_id: str
    purposes: dict[str, PurposeStatePublic]
    history: list[ConsentEventPublic]


@router.post(
    "/api/v1/consents",
    status_code=201,
    response_model=ConsentRecorded,
    responses={403: {"description": "The grant would lift an objection or a withdrawal."}},
)
def record(
    body: ConsentCreate,
    session: SessionDep,
    policy: PolicyDep,
    keyring: KeyringDep,
    actor: Recorder,
) -> ConsentRecorded:
    """Append a grant, withdrawal or objection; an objection to direct marketing is absolute
    and takes effect at once on every audience and read (Art. 21(3) GDPR).

    A grant after an objection or a withdrawal is refused (403, rule `lift_authority`,
    audited) unless the key has the DPO role and the body carries evidence of the
    subject's own statement; the subject lifts it in the privacy centre.
    """
    now = utcnow()
    subject_id = body.subject_id
    if subject_id is None:  # the look-up is audited, an unknown address too
        subject_id = vault.find_subject(
            session, keyring, body.email or "", actor=actor.label, now=now
        )
    elif not vault.is_live(session, subject_id):  # no ledger rows for nobody
        raise NotFound("no such subject")
    event = consent.record_consent(
        session,
        policy,
        subject_id=subject_id,
        purpose=body.purpose,
        action=body.action,
        channel=body.channel,
        evidence=body.evidence,
        standing="dpo" if actor.role == "dpo" else "other",
        actor=actor.label,
        now=now,
    )
    system_events.consent_changed(
        session, policy, keyring, subject_id, purpose=body.purpose, action=body.action,
        actor=actor.label, now=now,
    )  # fmt: skip
    state = consent.current_state(session, policy, subject_id)[body.purpose]
    return ConsentRecorded(
        event_id=event.id,
        subject_id=subject_id,
        purpose=event.purpose,
        action=event.action,
        channel=event.channel,
        at=event.at,
        state=state.value,
    )


def _public(event: ConsentEvent, proof: bool) -> ConsentEventPublic:
    return ConsentEventPublic(
        event_id=event.id,
        purpose=event.purpose,
        action=event.action,
        channel=event.channel,
        at=event.at,
        policy_version=event.policy_version,
        wording_hash=event.wording_hash,
        wording_version=event.wording_version,
        evidence=event.evidence,
        recorded_by=event.recorded_by,
        ip_truncated=event.ip_truncated if proof else None,
        user_agent=event.user_agent if proof else None,
    )


@router.get(
    "/api/v1/subjects/{subject_id}/consents",
    response_model=SubjectConsents,
    response_model_exclude_none=True,
    responses={404: {"description": "No such subject."}},
)
def subject_consents(
    subject_id: str, session: SessionDep, policy: PolicyDep, actor: Reader
) -> SubjectConsents:
    """The state of each purpose the subject has said something about, and every event.

    An unknown subject is a 404; an erased one keeps its ledger, the proof of Art. 7(1).
    """
    events = consent.history(session, subject_id)
    if not events and not vault.is_live(session, subject_id):
        raise NotFound("no such subject")
    states = consent.derive_state(policy, events)
    proof = actor.role in PROOF_READERS
    return SubjectConsents(
        subject_id=subject_id,
        purposes={
            p: PurposeStatePublic(state=s.state.value, since=s.since) for p, s in states.items()
        },
        history=[_public(e, proof) for e in events],
    )
