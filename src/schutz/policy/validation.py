"""Rules that span sections of a policy: every reference resolves and every clause holds."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from schutz.policy.schema import LegalBasis, Policy, Role
from schutz.policy.vocabulary_checks import check_vocabulary

Path = tuple[str | int, ...]

# Payload keys that carry payment data and so need `user.payment` among the categories.
_PAYMENT_PAYLOAD = frozenset({"total", "currency", "payment.method", "payment.reference"})
# C9: exception purposes are for the few who answer for them, never for marketing.
_EXCEPTION_FORBIDDEN_ROLES = frozenset({Role.MARKETING})


@dataclass(frozen=True, slots=True)
class Issue:
    """One broken rule: where in the file (a path of keys and indexes) and what."""

    path: Path
    message: str


def check_policy(policy: Policy) -> list[Issue]:
    """Every cross-section rule `policy` breaks, in file order; empty when it is sound."""
    return [
        *_check_fields(policy),
        *_check_sources(policy),
        *_check_purposes(policy),
        *_check_recipients(policy),
        *_check_systems(policy),
        *_check_cookies(policy),
        *_check_sections(policy),
        *check_vocabulary(policy),
    ]


def _undeclared(policy: Policy, categories: tuple[str, ...], path: Path) -> Iterator[Issue]:
    for i, category in enumerate(categories):
        if category not in policy.categories:
            yield Issue((*path, i), f"category {category!r} is not declared under 'categories'")


def _check_systems(policy: Policy) -> Iterator[Issue]:
    """A system's categories are declared ones, or a parent of one (`user.contact`)."""
    for key, system in policy.systems.items():
        for i, category in enumerate(system.categories):
            if not any(c == category or c.startswith(category + ".") for c in policy.categories):
                yield Issue(
                    ("systems", key, "categories", i),
                    f"category {category!r} is not declared under 'categories'",
                )


def _check_fields(policy: Policy) -> Iterator[Issue]:
    for name, category in policy.fields.items():
        if category not in policy.categories:
            yield Issue(
                ("fields", name), f"category {category!r} is not declared under 'categories'"
            )


def _check_sources(policy: Policy) -> Iterator[Issue]:
    for key, source in policy.sources.items():
        usable: set[str] = set()
        for i, purpose in enumerate(source.purposes):
            if purpose not in policy.purposes:
                yield Issue(("sources", key, "purposes", i), f"unknown purpose {purpose!r}")
            else:
                usable.update(policy.purposes[purpose].categories)
        yield from _check_authorities(key, source.asserted_by)
        for i, field in enumerate(source.fields):
            category = policy.field_categories.get(field)
            if category is None:
                yield Issue(
                    ("sources", key, "fields", i),
                    f"unknown field {field!r}: neither mapped under 'fields' nor declared"
                    " under 'custom_fields'",
                )
            elif usable and category not in usable:
                # C1: a source may bring only what one of its purposes needs.
                yield Issue(
                    ("sources", key, "fields", i),
                    f"C1: field {field!r} ({category}) serves none of the source's purposes",
                )


def _check_authorities(key: str, asserted_by: tuple[str, ...]) -> Iterator[Issue]:
    """Write authority: each role or form named once, so a review reads one list."""
    seen: set[str] = set()
    for i, who in enumerate(asserted_by):
        if who in seen:
            yield Issue(("sources", key, "asserted_by", i), f"{who!r} is listed twice")
        seen.add(who)


def _check_purposes(policy: Policy) -> Iterator[Issue]:
    for key, purpose in policy.purposes.items():
        path: Path = ("purposes", key)
        yield from _undeclared(policy, purpose.categories, (*path, "categories"))
        if purpose.legal_basis is LegalBasis.CONSENT and not purpose.requires_consent:
            yield Issue(
                (*path, "requires_consent"),
                "a purpose based on consent (Art. 6(1)(a) GDPR) must set requires_consent: true",
            )
        if purpose.direct_marketing and not purpose.objectable:
            yield Issue(
                (*path, "objectable"),
                "direct marketing must be objectable at any time (Art. 21(2) GDPR, C8)",
            )
        if purpose.survives_restriction and not purpose.exception:
            yield Issue(
                (*path, "survives_restriction"),
                "only an exception purpose (C9) may go on while processing is restricted",
            )
        if purpose.exception:
            if purpose.requires_consent or purpose.direct_marketing:
                yield Issue(
                    (*path, "exception"),
                    "C9: an exception purpose cannot rest on consent or serve direct marketing",
                )
            for i, role in enumerate(purpose.roles):
                if role in _EXCEPTION_FORBIDDEN_ROLES:
                    yield Issue(
                        (*path, "roles", i),
                        f"C9: role {role.value!r} may not use an exception purpose",
                    )


def _check_recipients(policy: Policy) -> Iterator[Issue]:
    # Never-sell (C7) is in the schema; which purposes may send data to recipients at all is
    # the policy's own setting (`recipients_only_for`, C2 in the Gigaset policy).
    only_for = policy.recipients_only_for
    for key, recipient in policy.recipients.items():
        path: Path = ("recipients", key)
        allowed: set[str] = set()
        for i, purpose in enumerate(recipient.purposes):
            if purpose not in policy.purposes:
                yield Issue((*path, "purposes", i), f"unknown purpose {purpose!r}")
            elif only_for is not None and purpose not in only_for:
                yield Issue(
                    (*path, "purposes", i),
                    f"C2: data goes to third parties only for {' or '.join(only_for)},"
                    f" not {purpose!r} (recipients_only_for)",
                )
            else:
                allowed.update(policy.purposes[purpose].categories)
        yield from _undeclared(policy, recipient.categories, (*path, "categories"))
        for i, category in enumerate(recipient.categories):
            if allowed and category not in allowed:
                yield Issue(
                    (*path, "categories", i),
                    f"category {category!r} is not used by any of the recipient's purposes",
                )
        for i, item in enumerate(recipient.payload):
            needed = _payload_categories(policy, item)
            missing = needed - set(recipient.categories)
            if missing:
                yield Issue(
                    (*path, "payload", i),
                    f"payload {item!r} carries {', '.join(sorted(missing))},"
                    " which the recipient's categories do not list",
                )


def _payload_categories(policy: Policy, item: str) -> set[str]:
    if item in _PAYMENT_PAYLOAD:
        return {"user.payment"}
    return {c for f, c in policy.fields.items() if f == item or f.startswith(f"{item}.")}


def _check_cookies(policy: Policy) -> Iterator[Issue]:
    seen: set[str] = set()
    for i, cookie in enumerate(policy.cookies):
        if cookie.name in seen:
            yield Issue(("cookies", i, "name"), f"cookie {cookie.name!r} is listed twice")
        seen.add(cookie.name)
        if cookie.serves is not None and cookie.serves not in policy.purposes:
            yield Issue(("cookies", i, "serves"), f"unknown purpose {cookie.serves!r}")


def _check_sections(policy: Policy) -> Iterator[Issue]:
    if policy.analytics and policy.analytics.purpose not in policy.purposes:
        yield Issue(("analytics", "purpose"), f"unknown purpose {policy.analytics.purpose!r}")
    newsletter = policy.newsletter
    if newsletter:
        purpose = policy.purposes.get(newsletter.purpose)
        if purpose is None:
            yield Issue(("newsletter", "purpose"), f"unknown purpose {newsletter.purpose!r}")
        elif not purpose.requires_consent:
            yield Issue(
                ("newsletter", "purpose"), "C18: the newsletter purpose must require consent"
            )
    for key, hold in policy.legal_holds.items():
        yield from _undeclared(policy, hold.categories, ("legal_holds", key, "categories"))
