"""The policy file's schema: pydantic models for one version of the privacy policy.

The models' vocabulary (languages, enums, checked names, durations) is in `vocabulary.py`
and re-exported here.
"""

from __future__ import annotations

from datetime import date
from functools import cached_property
from typing import Literal

from pydantic import Field, field_validator

from schutz.policy.custom import (
    CookieCategoryKey,
    CookieCategorySpec,
    CustomField,
    FieldRef,
    Processor,
    Vocabulary,
)
from schutz.policy.sites import Site, SiteKey
from schutz.policy.vocabulary import (
    C7_MESSAGE,
    LANGUAGES,
    Asserter,
    Category,
    Channel,
    CookieCategory,
    Duration,
    FieldName,
    Form,
    Key,
    LegalBasis,
    Model,
    OptOut,
    PayloadField,
    PurposeKey,
    RetentionStart,
    Right,
    Role,
    SourceName,
    Text,
    duration_days,
    is_selling,
)

__all__ = [
    "C7_MESSAGE",
    "LANGUAGES",
    "Address",
    "Analytics",
    "Asserter",
    "Category",
    "Channel",
    "Controller",
    "Cookie",
    "CookieCategory",
    "CookieCategorySpec",
    "CustomField",
    "Duration",
    "Embed",
    "FieldName",
    "Form",
    "IpTruncation",
    "Key",
    "LegalBasis",
    "LegalHold",
    "Model",
    "Newsletter",
    "OptOut",
    "Party",
    "PayloadField",
    "Policy",
    "Processor",
    "Purpose",
    "PurposeKey",
    "Recipient",
    "Retention",
    "RetentionStart",
    "Right",
    "Rights",
    "Role",
    "Source",
    "SourceName",
    "System",
    "Text",
    "duration_days",
    "is_selling",
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
    fields: tuple[FieldRef, ...] = Field(min_length=1)
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


class System(Model):
    """One of the operator's own systems holding personal data (shop database, CRM, helpdesk).

    Schutz tells each of them of a subject's request by a signed event and waits for its
    answer; the categories decide which identifiers an event may carry (Art. 5(1)(c) GDPR).
    """

    name: Text
    categories: tuple[Category, ...] = Field(min_length=1)


class Cookie(Model):
    """One cookie the site sets (clauses C14-C17)."""

    name: str = Field(pattern=r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
    label: Text | None = None
    provider: str
    category: CookieCategoryKey
    """A built-in category (`CookieCategory`) or one under `cookie_categories`."""
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
    fields: tuple[FieldRef, ...] = Field(min_length=1)
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


class Policy(Vocabulary):
    """One version of the privacy policy, exactly as its YAML file states it.

    The operator's own vocabulary (custom fields, processors, cookie categories, the
    recipients setting) comes from `Vocabulary` (`custom.py`).
    """

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
    systems: dict[Key, System] = Field(default_factory=dict)  # the operator's own systems
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

    @cached_property
    def field_categories(self) -> dict[str, str]:
        """Every personal field of the API, built-in and custom, with its category."""
        out: dict[str, str] = {str(k): v for k, v in self.fields.items()}
        out.update((k, f.category) for k, f in self.custom_fields.items())
        return out

    def field_label(self, name: str, lang: str = "en") -> str:
        """A field's human name: a custom field's label, else its category's name."""
        custom = self.custom_fields.get(name)
        if custom is not None:
            return custom.label.get(lang)
        category = self.field_categories.get(name)
        return name if category is None else self.category_name(category, lang)

    def cookie(self, name: str) -> Cookie | None:
        return next((c for c in self.cookies if c.name == name), None)

    @property
    def exception_purposes(self) -> tuple[str, ...]:
        """Keys of the C9 exception purposes, in file order."""
        return tuple(k for k, p in self.purposes.items() if p.exception)
