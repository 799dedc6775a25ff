"""Cross-section rules for the operator's vocabulary: custom fields, processors, cookie
categories and the recipients setting must resolve and must not take a built-in name."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from schutz.policy.custom import BUILTIN_COOKIE_CATEGORIES, BUILTIN_FIELDS

if TYPE_CHECKING:
    from schutz.policy.schema import Policy
    from schutz.policy.validation import Issue


def check_vocabulary(policy: Policy) -> Iterator[Issue]:
    """Every rule of the vocabulary sections `policy` breaks."""
    yield from _check_custom_fields(policy)
    yield from _check_processors(policy)
    yield from _check_cookie_categories(policy)
    yield from _check_recipient_setting(policy)


def _issue(path: tuple[str | int, ...], message: str) -> Issue:
    from schutz.policy.validation import Issue  # here: validation imports this module

    return Issue(path, message)


def _check_custom_fields(policy: Policy) -> Iterator[Issue]:
    for name, spec in policy.custom_fields.items():
        path = ("custom_fields", name)
        if name in BUILTIN_FIELDS:
            yield _issue(path, f"custom field {name!r} clashes with the built-in field {name!r}")
        if spec.category not in policy.categories:
            yield _issue(
                (*path, "category"),
                f"category {spec.category!r} is not declared under 'categories'",
            )


def _check_processors(policy: Policy) -> Iterator[Issue]:
    for key, processor in policy.processors.items():
        path = ("processors", key)
        if key in policy.recipients:
            yield _issue(path, f"{key!r} is also a recipient; name it once")
        used: set[str] = set()
        for i, purpose in enumerate(processor.purposes):
            if purpose not in policy.purposes:
                yield _issue((*path, "purposes", i), f"unknown purpose {purpose!r}")
            else:
                used.update(policy.purposes[purpose].categories)
        for i, category in enumerate(processor.categories):
            if category not in policy.categories:
                yield _issue(
                    (*path, "categories", i),
                    f"category {category!r} is not declared under 'categories'",
                )
            elif used and category not in used:
                yield _issue(
                    (*path, "categories", i),
                    f"category {category!r} is not used by any of the processor's purposes",
                )


def _check_cookie_categories(policy: Policy) -> Iterator[Issue]:
    for key, spec in policy.cookie_categories.items():
        path = ("cookie_categories", key)
        if key in BUILTIN_COOKIE_CATEGORIES:
            yield _issue(path, f"cookie category {key!r} clashes with the built-in one")
        if spec.serves is not None and spec.serves not in policy.purposes:
            yield _issue((*path, "serves"), f"unknown purpose {spec.serves!r}")
    known = BUILTIN_COOKIE_CATEGORIES | set(policy.cookie_categories)
    for i, cookie in enumerate(policy.cookies):
        if cookie.category not in known:
            yield _issue(
                ("cookies", i, "category"),
                f"unknown cookie category {cookie.category!r}: use one of"
                f" {', '.join(sorted(BUILTIN_COOKIE_CATEGORIES))} or declare it under"
                " 'cookie_categories'",
            )


def _check_recipient_setting(policy: Policy) -> Iterator[Issue]:
    for i, purpose in enumerate(policy.recipients_only_for or ()):
        if purpose not in policy.purposes:
            yield _issue(("recipients_only_for", i), f"unknown purpose {purpose!r}")
