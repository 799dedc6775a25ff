"""`/api/v1/subjects`: intake (C1), e-mail look-up, purpose-checked reads (C9), rectification.

Each route turns HTTP into one vault call; the request's unit of work (`web/deps.py`)
commits it. Refusals that the vault audited (a denied read, an unknown address, a failed
integrity check on a read) are committed too, so the audit entry survives the error answer.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy.exc import IntegrityError

from schutz.clock import utcnow
from schutz.errors import Conflict
from schutz.identity.actor import Actor
from schutz.subject_requests.rectification import rectify_subject
from schutz.vault import service
from schutz.vault.crypto import IntegrityCheckError
from schutz.web.auth import require_role
from schutz.web.deps import (
    KeyringDep,
    RulesDep,
    SessionDep,
    UnitOfWorkRoute,
    keep_audit_on,
)

router = APIRouter(prefix="/api/v1/subjects", tags=["subjects"], route_class=UnitOfWorkRoute)

JUSTIFICATION_HEADER = "X-Schutz-Justification"
ADDRESS_PREFIX = "postal_address."


AnyKey = Annotated[Actor, Depends(require_role())]
Writer = Annotated[Actor, Depends(require_role("shop", "support", "dpo", "admin"))]
Rectifier = Annotated[Actor, Depends(require_role("support", "dpo", "admin"))]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PostalAddress(_Strict):
    street: str | None = None
    postal_code: str | None = None
    city: str | None = None
    country: str | None = Field(default=None, description="ISO 3166 code or English name.")


CUSTOM_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


class PersonalData(BaseModel):
    """The personal fields of the API; each maps to a taxonomy category in the policy.

    Besides the built-in fields, a policy may declare fields of its own under
    `custom_fields` (`loyalty_tier`, `customer_number`): they are sent beside the built-in
    ones, as text. A name the policy does not declare is refused with the other fields the
    source may not bring (422, C1).
    """

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={"additionalProperties": {"type": "string"}},
    )
    __pydantic_extra__: dict[str, str] = Field(init=False)

    email: str | None = None
    name: str | None = None
    postal_address: PostalAddress | None = None
    phone: str | None = Field(default=None, description="International or national format.")

    @model_validator(mode="after")
    def _custom_names(self) -> PersonalData:
        for name in self.__pydantic_extra__ or {}:
            if not CUSTOM_NAME.fullmatch(name):
                raise ValueError(f"{name!r} is not a field name of the API")
        return self

    def flat(self) -> dict[str, str]:
        """`{"email": ..., "postal_address.city": ...}`: the names the policy uses."""
        out = {
            k: v for k, v in self.model_dump(exclude={"postal_address"}).items() if v is not None
        }
        if self.postal_address is not None:
            for key, value in self.postal_address.model_dump().items():
                if value is not None:
                    out[ADDRESS_PREFIX + key] = value
        return out

    @classmethod
    def from_flat(cls, data: dict[str, str]) -> PersonalData:
        nested: dict[str, Any] = {}
        for key, value in data.items():
            if key.startswith(ADDRESS_PREFIX):
                nested.setdefault("postal_address", {})[key.removeprefix(ADDRESS_PREFIX)] = value
            else:
                nested[key] = value
        return cls.model_validate(nested)


class SubjectCreate(_Strict):
    source: str = Field(examples=["order"], description="Where the data comes from (C1).")
    purposes: list[str] = Field(examples=[["order_processing", "billing"]], min_length=1)
    data: PersonalData


class SubjectStored(BaseModel):
    subject_id: str
    stored: list[str] = Field(description="Fields written, by their policy names.")


class SubjectIntake(SubjectStored):
    stored: list[str] = Field(
        description="Fields written by this call: all of them for a new subject, for a known"
        " one those it did not hold yet."
    )
    unchanged: list[str] = Field(
        default_factory=list,
        description="Known subject: the fields sent that it already held. The held value was"
        " kept, whether or not it equals the one sent (the answer does not say, so that no"
        " caller can test a guess); changing it is a rectification (PATCH with the subject's"
        " verified request).",
    )


class SubjectLookup(_Strict):
    """An e-mail address, or a custom identity of the policy and its value."""

    email: str | None = None
    identity: str | None = Field(default=None, examples=["customer_number"], max_length=64)
    value: str | None = Field(default=None, description="The identity's value.")

    @model_validator(mode="after")
    def _one_way(self) -> SubjectLookup:
        by_identity = self.identity is not None and self.value is not None
        if (self.email is not None) == by_identity or (
            (self.identity is None) != (self.value is None)
        ):
            raise ValueError("send either 'email', or 'identity' and 'value'")
        return self


class SubjectRef(BaseModel):
    subject_id: str


class SubjectPublic(BaseModel):
    subject_id: str
    purpose: str
    data: PersonalData = Field(description="Only the fields the policy allows for the purpose.")
    flagged: bool = Field(description="Read under an exception purpose (C9), flagged for the DPO.")


class SubjectPatch(_Strict):
    data: PersonalData
    request_id: str | None = Field(
        default=None,
        max_length=64,
        description="The verified rectification or completion request of this subject that"
        " the change carries out (Art. 16 GDPR). Without one nothing changes: 403.",
    )


class Refusal(BaseModel):
    detail: str
    reason: str
    rule: str | None = None


def _decode_header(value: str | None) -> str | None:
    # HTTP headers arrive as Latin-1; clients sending UTF-8 (umlauts) get it back intact.
    if value is None:
        return None
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return value


@router.post(
    "",
    status_code=201,
    response_model=SubjectIntake,
    responses={
        200: {"model": SubjectIntake, "description": "Known e-mail: the same subject."},
        403: {"model": Refusal, "description": "The key's role may not assert this source."},
        409: {"description": "A custom identity sent is another subject's."},
    },
)
def create_subject(
    body: SubjectCreate,
    response: Response,
    session: SessionDep,
    rules: RulesDep,
    keyring: KeyringDep,
    actor: AnyKey,
) -> SubjectIntake:
    """Store what a source collected; fields the purposes do not need are refused (422, C1).

    Only the roles the policy names for the source may assert it (403, rule
    `source_authority`). A known e-mail returns its subject; new fields are added, held
    values are never changed (`unchanged` names them).
    """
    try:
        result = service.intake(
            session,
            rules,
            keyring,
            source=body.source,
            purposes=body.purposes,
            data=body.data.flat(),
            asserted_by=actor.role,
            actor=actor.label,
            now=utcnow(),
        )
    except IntegrityError:
        raise Conflict("a concurrent request stored this subject; send it again") from None
    if not result.created:
        response.status_code = 200
    if result.created:
        return SubjectIntake(subject_id=result.subject_id, stored=list(result.stored))
    held = [name for name in (*result.stored, *result.unchanged) if name not in result.added]
    return SubjectIntake(subject_id=result.subject_id, stored=list(result.added), unchanged=held)


@router.post(
    "/lookup",
    response_model=SubjectRef,
    responses={404: {"description": "Unknown."}, 403: {"model": Refusal}},
)
def lookup_subject(
    body: SubjectLookup, session: SessionDep, rules: RulesDep, keyring: KeyringDep, actor: AnyKey
) -> SubjectRef:
    """Find a subject by e-mail, or by a custom identity of the policy (`customer_number`),
    through its blind index: a POST, so that no value ends up in a URL or an access log.

    A look-up by identity is open to the roles the policy names for it (`lookup_roles`).
    """
    now = utcnow()
    if body.email is not None:
        subject_id = service.find_subject(session, keyring, body.email, actor=actor.label, now=now)
    else:
        subject_id = service.find_by_identity(
            session, rules.policy, keyring, str(body.identity), str(body.value),
            role=actor.role, actor=actor.label, now=now,
        )  # fmt: skip
    return SubjectRef(subject_id=subject_id)


@router.get(
    "/{subject_id}",
    response_model=SubjectPublic,
    response_model_exclude_none=True,
    responses={403: {"model": Refusal}, 404: {"description": "Unknown or erased."}},
)
def read_subject(
    subject_id: str,
    session: SessionDep,
    rules: RulesDep,
    keyring: KeyringDep,
    actor: AnyKey,
    purpose: Annotated[str, Query(description="Why the data is read (C9).")],
    justification: Annotated[
        str | None,
        Header(
            alias=JUSTIFICATION_HEADER,
            description="Required for the exception purposes of C9; kept encrypted in the audit.",
        ),
    ] = None,
) -> SubjectPublic:
    """Exactly the fields the policy allows for `purpose` and the key's role; audited.

    The vault reads the consent ledger itself, so an objection (Art. 21(3) GDPR) or a
    withdrawal (Art. 7(3)) takes effect on the very next read.
    """
    with keep_audit_on(session, IntegrityCheckError):  # the vault audits the incident
        found = service.read_subject(
            session,
            rules,
            keyring,
            subject_id,
            purpose,
            actor=actor.label,
            role=actor.role,
            justification=_decode_header(justification),
            now=utcnow(),
        )
    return SubjectPublic(
        subject_id=found.subject_id,
        purpose=found.purpose,
        data=PersonalData.from_flat(found.data),
        flagged=found.flagged,
    )


@router.patch(
    "/{subject_id}",
    response_model=SubjectStored,
    responses={403: {"model": Refusal}, 409: {"model": Refusal}},
)
def patch_subject(
    subject_id: str,
    body: SubjectPatch,
    session: SessionDep,
    rules: RulesDep,
    keyring: KeyringDep,
    actor: Rectifier,
) -> SubjectStored:
    """Rectify or complete fields (Art. 16 GDPR) within the purposes already collected for.

    A stored value changes only as the carrying out of the subject's verified rectification
    or completion request (DESIGN.md, invariant 1): a key alone changes nothing, however
    trusted its role. Staff apply the request; the requester is told, and the recipients
    who had the old values are listed for Art. 19.
    """
    done = rectify_subject(
        session, rules, keyring, subject_id, body.request_id, body.data.flat(),
        actor=actor.label, now=utcnow(),
    )  # fmt: skip
    return SubjectStored(subject_id=subject_id, stored=list(done.fields))
