"""The words a policy file is written in: languages, kinds, durations and checked names.

Enums and constrained types the schema's models are built from (`schema.py`); kept apart
so that a reader finds the vocabulary of a policy without its structure.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
)

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
