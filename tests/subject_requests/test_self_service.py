"""The privacy centre's rules (C11, C19): when a switch shows on, what a correction changes."""

from __future__ import annotations

from typing import Any

import pytest

from schutz.consent.service import ConsentState
from schutz.errors import InvalidInput
from schutz.policy.engine import Engine as Rules
from schutz.subject_requests.self_service import changes, is_on, switch_action


@pytest.mark.parametrize(
    ("state", "requires_consent", "on"),
    [
        (None, True, False),  # consent never given
        (None, False, True),  # legitimate interest, nothing said against it
        (ConsentState.GRANTED, True, True),
        (ConsentState.CONFIRMED, True, True),
        (ConsentState.WITHDRAWN, True, False),
        (ConsentState.OBJECTED, False, False),
    ],
)
def test_a_switch_is_on_only_while_the_ledger_allows_the_purpose(
    state: ConsentState | None, requires_consent: bool, on: bool
) -> None:
    assert is_on(state, requires_consent) is on


def test_turning_a_switch_off_withdraws_consent_or_objects(rules: Rules) -> None:
    assert switch_action(rules.policy, "newsletter", on=False) == "withdraw"
    assert switch_action(rules.policy, "direct_marketing", on=False) == "object"
    assert switch_action(rules.policy, "direct_marketing", on=True) == "grant"
    with pytest.raises(InvalidInput):
        switch_action(rules.policy, "order_processing", on=False)


class _Held:
    def __init__(self, **values: str) -> None:
        self.values = values

    def value(self, name: str) -> str | None:
        return self.values.get(name)


def test_a_correction_keeps_only_new_non_blank_editable_values() -> None:
    held: Any = _Held(name="Ada Lovelace", phone="+44 20 1234")
    sent = {
        "name": "Ada Lovelace",  # unchanged
        "phone": "  +44 20 9999 ",
        "postal_address.city": "   ",  # blank
        "email": "new@example.org",  # not editable here
        "postal_address.street": "x" * 300,
    }
    assert changes(held, sent) == {"phone": "+44 20 9999", "postal_address.street": "x" * 200}
