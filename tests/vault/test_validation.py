"""Intake validation: values normalised, problems named by field, values never echoed."""

from __future__ import annotations

import pytest

from schutz.errors import InvalidInput
from schutz.vault.validation import normalise_email, normalise_fields


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ({"email": " Ada@Example.ORG "}, {"email": "ada@example.org"}),
        ({"phone": "030 1234567"}, {"phone": "+49301234567"}),
        (
            {"phone": "01 42 68 53 00", "postal_address.country": "France"},
            {"phone": "+33142685300", "postal_address.country": "FR"},
        ),
        ({"postal_address.country": "deu"}, {"postal_address.country": "DE"}),
        (
            {"postal_address.postal_code": " 40549 ", "postal_address.country": "DE"},
            {"postal_address.postal_code": "40549", "postal_address.country": "DE"},
        ),
        ({"name": "  Ada   Lovelace "}, {"name": "Ada Lovelace"}),
    ],
)
def test_values_are_normalised(given: dict[str, str], stored: dict[str, str]) -> None:
    assert normalise_fields(given) == stored


@pytest.mark.parametrize(
    ("given", "named"),
    [
        ({"email": "ada-at-example.org"}, "email"),
        ({"phone": "12"}, "phone"),
        ({"postal_address.country": "Atlantis"}, "postal_address.country"),
        (
            {"postal_address.postal_code": "4054", "postal_address.country": "DE"},
            "postal_address.postal_code",
        ),
        ({"name": "   "}, "name"),
        ({"name": "x" * 201}, "name"),
    ],
)
def test_problems_name_the_field_and_hide_the_value(given: dict[str, str], named: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        normalise_fields(given)
    message = str(caught.value)
    assert message.startswith(named)
    for value in given.values():
        if len(value.strip()) > 3:
            assert value.strip() not in message


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(InvalidInput) as caught:
        normalise_fields({"email": "nope", "phone": "1"})
    assert "email" in str(caught.value)
    assert "phone" in str(caught.value)


def test_email_case_folds_to_one_subject() -> None:
    assert normalise_email("ADA@EXAMPLE.ORG") == normalise_email("ada@example.org")
