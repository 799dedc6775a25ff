"""The policy as JSON for machines: the version in force and the list of versions (public)."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter
from pydantic import BaseModel, Field

from schutz.clock import utcnow
from schutz.errors import NotFound
from schutz.policy.schema import Policy
from schutz.web.deps import PoliciesDep, PolicyDep

router = APIRouter(prefix="/api/v1/policy", tags=["policy"])


class LocalizedText(BaseModel):
    """One sentence in every language the policy is published in."""

    en: str
    de: str


class AddressPublic(BaseModel):
    street: str
    postal_code: str
    city: str
    country: str


class ControllerPublic(BaseModel):
    """Who is responsible, and how to reach them."""

    name: str
    address: AddressPublic
    fax: str | None = None
    phone: str | None = None
    email: str | None = None


class RetentionPublic(BaseModel):
    period: str | None = Field(description="ISO 8601 duration, e.g. P3Y; null: until `start`.")
    start: str = Field(description="The event the period counts from.")
    note: LocalizedText


class PurposePublic(BaseModel):
    """A purpose of processing; which staff roles may use it is internal and left out."""

    key: str
    name: LocalizedText
    description: LocalizedText
    legal_basis: str
    legal_basis_article: str = Field(examples=["Art. 6(1)(b) GDPR"])
    categories: list[str] = Field(description="Fides taxonomy keys of the data used.")
    retention: RetentionPublic
    objectable: bool
    requires_consent: bool
    exception: bool = Field(description="One of the exceptions to purpose binding (clause C9).")


class RecipientPublic(BaseModel):
    """A processor and what it receives."""

    key: str
    kind: str
    name: LocalizedText
    description: LocalizedText
    purposes: list[str]
    categories: list[str]


class CookiePublic(BaseModel):
    name: str
    label: LocalizedText | None
    provider: str
    category: str
    duration: str = Field(description="'session' or an ISO 8601 duration such as P2Y.")
    purpose: LocalizedText


class PolicyPublic(BaseModel):
    """One version of the privacy policy."""

    version: str
    effective_date: date
    change_summary: LocalizedText
    controller: ControllerPublic
    objection_channels: list[str]
    purposes: list[PurposePublic]
    recipients: list[RecipientPublic]
    cookies: list[CookiePublic]
    rights: list[str]


class VersionPublic(BaseModel):
    version: str
    effective_date: date
    in_force: bool


def _text(value: BaseModel) -> LocalizedText:
    return LocalizedText.model_validate(value.model_dump())


def policy_public(policy: Policy) -> PolicyPublic:
    """The public view of `policy`: everything a visitor may read, nothing internal."""
    c = policy.controller
    return PolicyPublic(
        version=policy.version,
        effective_date=policy.effective_date,
        change_summary=_text(policy.change_summary),
        controller=ControllerPublic(
            name=c.name,
            address=AddressPublic.model_validate(c.address.model_dump()),
            fax=c.fax,
            phone=c.phone,
            email=c.email,
        ),
        objection_channels=[str(ch) for ch in policy.objection_channels],
        purposes=[
            PurposePublic(
                key=key,
                name=_text(p.name),
                description=_text(p.description),
                legal_basis=str(p.legal_basis),
                legal_basis_article=p.legal_basis.article,
                categories=list(p.categories),
                retention=RetentionPublic(
                    period=p.retention.period,
                    start=str(p.retention.start),
                    note=_text(p.retention.note),
                ),
                objectable=p.objectable,
                requires_consent=p.requires_consent,
                exception=p.exception,
            )
            for key, p in policy.purposes.items()
        ],
        recipients=[
            RecipientPublic(
                key=key,
                kind=r.kind,
                name=_text(r.name),
                description=_text(r.description),
                purposes=list(r.purposes),
                categories=list(r.categories),
            )
            for key, r in policy.recipients.items()
        ],
        cookies=[
            CookiePublic(
                name=k.name,
                label=_text(k.label) if k.label else None,
                provider=k.provider,
                category=str(k.category),
                duration=k.duration,
                purpose=_text(k.purpose),
            )
            for k in policy.cookies
        ],
        rights=[str(r) for r in policy.rights.available],
    )


@router.get("", response_model=PolicyPublic, summary="The privacy policy in force")
def policy_in_force(policy: PolicyDep) -> PolicyPublic:
    """The version in force today, with both languages' texts."""
    return policy_public(policy)


@router.get("/versions", response_model=list[VersionPublic], summary="Every version of the policy")
def policy_versions(policies: PoliciesDep) -> list[VersionPublic]:
    """Oldest first; `in_force` marks the one that applies today (later ones are announced)."""
    try:
        current: str | None = policies.in_force(utcnow().date()).version
    except NotFound:
        current = None
    return [
        VersionPublic(
            version=p.version, effective_date=p.effective_date, in_force=p.version == current
        )
        for p in policies
    ]
