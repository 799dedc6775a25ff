"""The policy file's schema: pydantic models for one version of the privacy policy."""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
)

from schutz.policy.sites import Site, SiteKey
from schutz.policy.taxonomy import known_categories

LANGUAGES = ("en", "de")

# C7: "we will not sell your personal data or market it in any other way". A name or kind
# that smells of selling is refused outright rather than left to a reviewer's eye.
_SELLING = re.compile(
    r"(^|_)(sale|sales|sell|selling|sold|resale|broker\w*|trade|trading|advertis\w*"
    r"|monetis\w*|monetiz\w*|marketplace)($|_)"
)
C7_MESSAGE = "C7: personal data is never sold or marketed in any other way"


def is_selling(word: str) -> bool:
    """True when `word` names selling, brokering or trading data (clause C7)."""
    return bool(_SELLING.search(word.lower()))


class Model(BaseModel):
    """Base of every policy model: unknown keys are errors and values never change."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(Model):
    """A sentence in every language the policy is published in."""

    en: str = Field(min_length=1)
    de: str = Field(min_length=1)

    def get(self, lang: str) -> str:
        """The text in `lang`, English for any language we do not publish."""
        return self.de if lang == "de" else self.en


def _check_category(key: str) -> str:
    if key not in known_categories():
        raise ValueError(f"unknown data category {key!r}: not in the Fides taxonomy")
    return key


def _check_purpose_key(key: str) -> str:
    if is_selling(key):
        raise ValueError(f"{C7_MESSAGE}: nothing may be called {key!r}")
    return key


_DURATION = re.compile(r"P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)D)?")


def _check_duration(value: str) -> str:
    if value == "session":
        return value
    match = _DURATION.fullmatch(value)
    if match is None or not any(match.groups()):
        raise ValueError(f"duration {value!r} must be 'session' or ISO 8601 like P2Y, P13M, P30D")
    return value


def duration_days(value: str) -> int | None:
    """Whole days in an ISO 8601 duration (a month counts 30, a year 365); None for 'session'.

    Rounding down keeps anything derived from it (a cookie's Max-Age) inside what the
    policy promises.
    """
    match = _DURATION.fullmatch(value)
    if match is None:
        return None
    years, months, days = (int(g or 0) for g in match.groups())
    return years * 365 + months * 30 + days


Category = Annotated[str, AfterValidator(_check_category)]
Key = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
PurposeKey = Annotated[Key, AfterValidator(_check_purpose_key)]
Duration = Annotated[str, AfterValidator(_check_duration)]


class LegalBasis(StrEnum):
    """The lawful bases of Art. 6(1) GDPR, points (a) to (f)."""

    CONSENT = "consent"
    CONTRACT = "contract"
    LEGAL_OBLIGATION = "legal_obligation"
    VITAL_INTERESTS = "vital_interests"
    PUBLIC_TASK = "public_task"
    LEGITIMATE_INTERESTS = "legitimate_interests"

    @property
    def article(self) -> str:
        """The citation, e.g. `Art. 6(1)(b) GDPR`."""
        return self.citation("en")

    def citation(self, lang: str = "en") -> str:
        """The citation in `lang`: `Art. 6(1)(f) GDPR` or `Art. 6 Abs. 1 lit. f DSGVO`."""
        letter = "abcdef"[list(LegalBasis).index(self)]
        if lang == "de":
            return f"Art. 6 Abs. 1 lit. {letter} DSGVO"
        return f"Art. 6(1)({letter}) GDPR"


class Role(StrEnum):
    """Who acts: staff roles and the role an API key carries."""

    SHOP = "shop"
    SUPPORT = "support"
    FULFILMENT = "fulfilment"
    MARKETING = "marketing"
    DPO = "dpo"
    ADMIN = "admin"


class SourceName(StrEnum):
    """Where personal data enters (clause C1)."""

    REGISTRATION = "registration"
    ORDER = "order"
    SURVEY = "survey"
    CONTACT_FORM = "contact_form"
    NEWSLETTER = "newsletter"


class Form(StrEnum):
    """A public form of the site through which an anonymous visitor hands in data.

    Forms carry no credential, so the policy names which sources each may assert; the
    demo checkout speaks to the API with the shop's key and asserts as the `shop` role.
    """

    CONTACT = "form:contact"
    NEWSLETTER = "form:newsletter"
    CHECKOUT = "form:checkout"
    REQUESTS = "form:requests"


def _check_asserter(value: str) -> str:
    if value not in {*Role, *Form}:
        roles = ", ".join(Role)
        forms = ", ".join(Form)
        raise ValueError(f"unknown authority {value!r}: name a role ({roles}) or a form ({forms})")
    return value


Asserter = Annotated[str, AfterValidator(_check_asserter)]
"""Who may assert a source: an API key or staff role, or an anonymous public form."""


class Channel(StrEnum):
    """How a data subject reaches the controller."""

    CONTACT_FORM = "contact_form"
    POST = "post"
    FAX = "fax"
    EMAIL = "email"
    PHONE = "phone"
    PRIVACY_CENTRE = "privacy_centre"


class Right(StrEnum):
    """Data-subject rights, Art. 15-21 GDPR (completion is Art. 16, second sentence)."""

    ACCESS = "access"
    RECTIFICATION = "rectification"
    COMPLETION = "completion"
    ERASURE = "erasure"
    RESTRICTION = "restriction"
    PORTABILITY = "portability"
    OBJECTION = "objection"


class RetentionStart(StrEnum):
    """The event a retention period counts from."""

    COLLECTION = "collection"
    LAST_CONTACT = "last_contact"
    END_OF_CONTRACT = "end_of_contract"
    END_OF_CALENDAR_YEAR = "end_of_calendar_year"
    WITHDRAWAL = "withdrawal"
    PURPOSE_FULFILLED = "purpose_fulfilled"


class CookieCategory(StrEnum):
    ESSENTIAL = "essential"
    ANALYTICS = "analytics"
    EMBEDS = "embeds"
    PREFERENCES = "preferences"


class OptOut(StrEnum):
    """Ways a visitor can keep analytics from recording them (clause C24)."""

    BROWSER_SETTINGS = "browser_settings"
    BROWSER_ADDON = "browser_addon"
    OPT_OUT_COOKIE = "opt_out_cookie"
    DO_NOT_TRACK = "do_not_track"
    GLOBAL_PRIVACY_CONTROL = "global_privacy_control"


# Personal fields of the HTTP API; each maps to a taxonomy category in `Policy.fields`.
FieldName = Literal[
    "email",
    "name",
    "phone",
    "postal_address.street",
    "postal_address.postal_code",
    "postal_address.city",
    "postal_address.country",
]
# What an order payload to a processor may contain; personal ones resolve through `fields`.
PayloadField = Literal[
    "order_ref",
    "email",
    "name",
    "phone",
    "postal_address",
    "items",
    "total",
    "currency",
    "payment.method",
    "payment.reference",
]


class Address(Model):
    street: str
    postal_code: str
    city: str
    country: str

    def lines(self) -> tuple[str, ...]:
        """The address as printed on an envelope."""
        return (self.street, f"{self.postal_code} {self.city}", self.country)


class Party(Model):
    """A company named in the policy: a provider or the controller."""

    name: str
    address: Address | None = None


class Controller(Party):
    """Who is responsible for the processing, and how to reach them (clauses C8, C12)."""

    address: Address
    fax: str | None = None
    phone: str | None = None
    email: str | None = None
    contact_form_url: str | None = None


class Retention(Model):
    """How long data for a purpose is kept: `period` after `start`; no period = until `start`."""

    period: Duration | None = None
    start: RetentionStart
    note: Text

    @property
    def days(self) -> int | None:
        return None if self.period is None else duration_days(self.period)


class Source(Model):
    """An intake channel: the purposes it may serve, the fields it may bring (clause C1) and
    who may assert it (write authority: an intake from anyone else is refused)."""

    name: Text
    purposes: tuple[Key, ...] = Field(min_length=1)
    fields: tuple[FieldName, ...] = Field(min_length=1)
    asserted_by: tuple[Asserter, ...] = Field(min_length=1)


class Purpose(Model):
    """One purpose of processing (clauses C4-C6, C9) and everything the engine needs for it."""

    name: Text
    description: Text
    legal_basis: LegalBasis
    categories: tuple[Category, ...] = Field(min_length=1)
    roles: tuple[Role, ...] = Field(min_length=1)
    retention: Retention
    objectable: bool = False
    direct_marketing: bool = False
    requires_consent: bool = False
    exception: bool = False
    survives_restriction: bool = False
    kind: str = "processing"

    @field_validator("kind")
    @classmethod
    def _refuse_selling_kind(cls, kind: str) -> str:
        if is_selling(kind):
            raise ValueError(f"{C7_MESSAGE}: a purpose of kind {kind!r} cannot exist")
        if kind != "processing":
            raise ValueError(f"purpose kind {kind!r} is not allowed; only 'processing'")
        return kind


class Recipient(Model):
    """A processor that receives data for contract processing or billing (clauses C2, C3)."""

    kind: str
    name: Text
    description: Text
    purposes: tuple[Key, ...] = Field(min_length=1)
    categories: tuple[Category, ...] = Field(min_length=1)
    payload: tuple[PayloadField, ...] = Field(min_length=1)

    @field_validator("kind")
    @classmethod
    def _only_processors(cls, kind: str) -> str:
        if is_selling(kind):
            raise ValueError(f"{C7_MESSAGE}: a recipient of kind {kind!r} cannot exist")
        if kind != "processor":
            raise ValueError(f"recipient kind {kind!r} is not allowed; only 'processor'")
        return kind


class Cookie(Model):
    """One cookie the site sets (clauses C14-C17)."""

    name: str = Field(pattern=r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
    label: Text | None = None
    provider: str
    category: CookieCategory
    duration: Duration
    purpose: Text
    serves: Key | None = None

    @property
    def is_session(self) -> bool:
        return self.duration == "session"

    @property
    def max_age_seconds(self) -> int | None:
        """`Max-Age` for `Set-Cookie`; None for a session cookie."""
        days = duration_days(self.duration)
        return None if days is None else days * 86400


class Embed(Model):
    """A third-party plugin on the pages (clauses C20-C22)."""

    name: Text
    provider: Party
    two_click: bool
    sends: Text
    privacy_policy_url: str


class IpTruncation(Model):
    """How much of the address survives: the network prefix kept, in bits."""

    ipv4_prefix: int = Field(ge=0, le=32)
    ipv6_prefix: int = Field(ge=0, le=128)


class Analytics(Model):
    """Web analytics (clauses C23-C25)."""

    purpose: Key
    provider: Party
    first_party: bool
    records: Text
    ip_truncation: IpTruncation | None
    leaves_site: bool
    opt_out: tuple[OptOut, ...]
    raw_data_retention: Duration | None = None

    @property
    def honours_dnt(self) -> bool:
        return OptOut.DO_NOT_TRACK in self.opt_out

    @property
    def honours_gpc(self) -> bool:
        return OptOut.GLOBAL_PRIVACY_CONTROL in self.opt_out


class Newsletter(Model):
    """The newsletter (clauses C18, C19)."""

    purpose: Key
    fields: tuple[FieldName, ...] = Field(min_length=1)
    double_opt_in: bool
    unsubscribe: tuple[Literal["newsletter_link", "one_click", "my_account"], ...]


class Rights(Model):
    """The data-subject rights offered and how to exercise them (clause C11)."""

    available: tuple[Right, ...] = Field(min_length=1)
    channels: tuple[Channel, ...] = Field(min_length=1)
    deadline: Duration | None = None
    note: Text


class LegalHold(Model):
    """A statutory retention duty that outlives an erasure request (Art. 17(3)(b) GDPR)."""

    name: Text
    period: Duration
    start: RetentionStart
    basis: str
    categories: tuple[Category, ...] = Field(min_length=1)


class Policy(Model):
    """One version of the privacy policy, exactly as its YAML file states it."""

    version: str = Field(pattern=r"^[0-9A-Za-z][0-9A-Za-z._-]*$")
    effective_date: date
    change_summary: Text
    controller: Controller
    objection_channels: tuple[Channel, ...] = Field(min_length=1)
    categories: dict[Category, Text] = Field(min_length=1)
    fields: dict[FieldName, Category] = Field(min_length=1)
    sources: dict[SourceName, Source]
    purposes: dict[PurposeKey, Purpose] = Field(min_length=1)
    recipients: dict[PurposeKey, Recipient] = Field(default_factory=dict)
    cookies: tuple[Cookie, ...] = ()
    embeds: dict[Key, Embed] = Field(default_factory=dict)
    analytics: Analytics | None = None
    newsletter: Newsletter | None = None
    rights: Rights
    legal_holds: dict[Key, LegalHold] = Field(default_factory=dict)
    sites: dict[SiteKey, Site] = Field(default_factory=dict)  # embedding sites (policy/sites.py)

    def category_name(self, category: str, lang: str = "en") -> str:
        """A category's human name in `lang`, or its key if the policy names none."""
        text = self.categories.get(category)
        return text.get(lang) if text else category

    def cookie(self, name: str) -> Cookie | None:
        return next((c for c in self.cookies if c.name == name), None)

    @property
    def exception_purposes(self) -> tuple[str, ...]:
        """Keys of the C9 exception purposes, in file order."""
        return tuple(k for k, p in self.purposes.items() if p.exception)
