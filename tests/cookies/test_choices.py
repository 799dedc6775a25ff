"""The consent cookie's value: a random id, the policy version, one flag per category."""

from __future__ import annotations

import re

from schutz.cookies.choices import Choices, decode, is_visitor_id, new_visitor_id


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
