"""The consent cookie's value: a random id, the policy version, one flag per category."""

from __future__ import annotations

import re

import pytest

from schutz.cookies.choices import Choices, apply_choice, decode, is_visitor_id, new_visitor_id
from schutz.cookies.registry import VISITOR_COOKIE, Registry, registry_for
from schutz.policy.engine import Engine as Rules


def test_a_visitor_id_is_random_and_opaque() -> None:
    ids = {new_visitor_id() for _ in range(1000)}

    assert len(ids) == 1000
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{22}", v) for v in ids)
    assert all(is_visitor_id(v) for v in ids)


def test_choices_survive_the_round_trip_through_the_cookie() -> None:
    choices = Choices(new_visitor_id(), "2026-11", {"analytics": True, "embeds": False})

    decoded = decode(choices.encode())

    assert decoded == choices
    assert decoded is not None
    assert decoded.allowed == {"analytics"}


def test_a_dotted_policy_version_still_decodes() -> None:
    choices = Choices(new_visitor_id(), "1.2", {"analytics": False})

    assert decode(choices.encode()) == choices


def test_a_category_the_visitor_never_decided_asks_again() -> None:
    old = Choices(new_visitor_id(), "2013-06", {"analytics": True})

    assert not old.needs_asking(("analytics",))
    assert old.needs_asking(("analytics", "embeds"))


def test_tampered_or_foreign_values_read_as_no_choice() -> None:
    for value in (None, "", "x", "abc.def.a1", "user@example.org", "A" * 22 + ".v.z1"):
        assert decode(value) is None


# --- what a form post does to the choices ------------------------------------------------


@pytest.fixture
def registry(rules: Rules) -> Registry:
    return registry_for(rules.policy)


@pytest.mark.parametrize(
    ("action", "allow", "category", "allowed"),
    [
        ("accept", (), None, {"analytics", "embeds", "preferences"}),
        ("reject", (), None, set()),
        ("save", ("analytics",), None, {"analytics"}),
        ("save", ("no-such-category",), None, set()),
        ("grant", (), "embeds", {"embeds"}),
        ("grant", (), "no-such-category", set()),  # an unknown grant saves the (empty) boxes
        ("anything-else", ("preferences",), None, {"preferences"}),
    ],
)
def test_a_choice_decides_the_categories_it_names(
    registry: Registry,
    action: str,
    allow: tuple[str, ...],
    category: str | None,
    allowed: set[str],
) -> None:
    change = apply_choice(None, registry, action, allow=allow, category=category)

    assert change.after.allowed == allowed & set(registry.categories)
    assert change.after.version == registry.version
    assert is_visitor_id(change.after.visitor_id)
    assert change.before.decided == {}


def test_a_grant_keeps_the_other_decisions_and_the_visitor(registry: Registry) -> None:
    before = Choices(new_visitor_id(), "old", dict.fromkeys(registry.categories, False))

    change = apply_choice(before, registry, "grant", category="embeds")

    assert change.after.visitor_id == before.visitor_id
    assert change.after.allowed == {"embeds"}
    assert change.before is before


def test_saying_no_deletes_that_categorys_cookies_and_the_visitor_id(registry: Registry) -> None:
    change = apply_choice(None, registry, "reject")

    for category in registry.categories:
        assert set(registry.names_in(category)) <= change.to_delete
    assert VISITOR_COOKIE in change.to_delete
    assert not apply_choice(None, registry, "accept").to_delete
