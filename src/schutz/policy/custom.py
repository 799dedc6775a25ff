"""The operator's own vocabulary in a policy: custom fields and identities, processors for
any purpose (Art. 28 GDPR) and cookie categories beyond the built-in ones.

Each is a section of its own in the policy file (`custom_fields`, `processors`,
`cookie_categories`); how they refer to the rest of the policy is checked in `checks.py`.
"""

from __future__ import annotations

import re
from typing import Annotated, get_args

from pydantic import AfterValidator, Field, field_validator

from schutz.policy.vocabulary import (
    Category,
    CookieCategory,
    FieldName,
    Key,
    Model,
    PurposeKey,
    Role,
    Text,
)

BUILTIN_FIELDS = frozenset({*get_args(FieldName), "postal_address"})
"""Names the API already gives a meaning to; a custom field may not take one of them."""
BUILTIN_COOKIE_CATEGORIES = frozenset(c.value for c in CookieCategory)
DEFAULT_LOOKUP_ROLES = (Role.SHOP, Role.SUPPORT, Role.DPO, Role.ADMIN)


def _check_pattern(pattern: str | None) -> str | None:
    if pattern is None:
        return None
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"not a regular expression ({exc.msg})") from None
    return pattern


class CustomField(Model):
    """A personal field of the operator's own (`loyalty_tier`, `customer_number`).

    It goes through intake, reads, rectification, export and erasure like a built-in field;
    its value is free text, checked against `max_length` and, when given, `pattern`. An
    `identity` finds its subject (a keyed blind index, never the plaintext) and is unique.
    """

    category: Category
    label: Text
    identity: bool = False
    max_length: int = Field(default=200, ge=1, le=2000)
    pattern: Annotated[str | None, AfterValidator(_check_pattern)] = None
    lookup_roles: tuple[Role, ...] = Field(default=DEFAULT_LOOKUP_ROLES, min_length=1)
    """Who may find a subject by this identity (`POST /api/v1/subjects/lookup`)."""

    def refusal(self, name: str, value: str) -> str | None:
        """Why `value` (already whitespace-normalised) is not acceptable, naming no value."""
        if not value:
            return f"{name}: must not be empty"
        if len(value) > self.max_length:
            return f"{name}: longer than {self.max_length} characters"
        if self.pattern is not None and re.fullmatch(self.pattern, value) is None:
            return f"{name}: does not have the form the policy sets for it"
        return None


class Processor(Model):
    """A service provider that processes personal data on the controller's behalf for any
    purpose (mail service, hosting, helpdesk), bound by a contract under Art. 28 GDPR.

    A processor is not a third party (Art. 4(10) GDPR): it receives nothing through the
    disclosure outbox and is listed on the policy page and in the records of processing.
    """

    name: Text
    provider: str = Field(min_length=1, max_length=200)
    """The company's name."""
    description: Text
    purposes: tuple[Key, ...] = Field(min_length=1)
    categories: tuple[Category, ...] = Field(min_length=1)
    contract: str = Field(min_length=1, max_length=200)
    """The reference of the data processing agreement (Art. 28(3) GDPR)."""
    location: str | None = None
    """Where the processing takes place (a country), for Art. 13(1)(f) GDPR."""


class CookieCategorySpec(Model):
    """A cookie category of the operator's own, beyond essential/analytics/embeds/preferences.

    Visitors decide on it in the banner like on a built-in one; `serves` names the purpose
    the choice is consent to.
    """

    name: Text
    description: Text
    serves: Key | None = None


FieldRef = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)?$")]
"""A field named in a source or the newsletter: built-in (`postal_address.city`) or custom."""
CookieCategoryKey = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,30}$")]


class Vocabulary(Model):
    """The sections of the operator's vocabulary (mixed into `Policy`)."""

    custom_fields: dict[PurposeKey, CustomField] = Field(default_factory=dict)
    processors: dict[PurposeKey, Processor] = Field(default_factory=dict)
    cookie_categories: dict[CookieCategoryKey, CookieCategorySpec] = Field(default_factory=dict)
    recipients_only_for: tuple[Key, ...] | None = None
    """The purposes for which data may go to recipients at all (the 2013 Gigaset policy's
    "only where contract processing or billing needs it", clause C2); None: any purpose."""

    @field_validator("recipients_only_for")
    @classmethod
    def _not_empty(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is not None and not value:
            raise ValueError("name at least one purpose, or leave the setting out")
        return value

    @property
    def identities(self) -> tuple[str, ...]:
        """The custom fields that identify a subject, in file order."""
        return tuple(k for k, f in self.custom_fields.items() if f.identity)
