"""Every sequence the model test ever failed on, kept as an explicit test (issue 13).

Each test replays the shrunk sequence hypothesis printed, step by step, on the same machine
(`machine.py`), so the invariants checked are exactly the ones of the search. They pass on
the current code; the first two fail on the code before the trust fixes (16786bb), which is
how docs/proof.md shows that the machine finds those attacks by itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .machine import SurfaceMachine


@pytest.fixture
def machine(template: tuple[Path, str]) -> Iterator[SurfaceMachine]:
    class Machine(SurfaceMachine):
        pass

    Machine.template, Machine.database_url = template
    Machine.replaying = True
    state = Machine()
    yield state
    state.teardown()


def _check(state: SurfaceMachine) -> None:
    state.nothing_left_or_changed_that_the_policy_forbids()


def test_overwrite_an_order_intake_for_a_known_address_keeps_the_stored_name(
    machine: SurfaceMachine,
) -> None:
    """Found on 16786bb: a second intake for a known address replaced the stored name."""
    state = machine
    _check(state)
    state.intake(role="shop", who=0, source="order", picks={0}, foreign=None,
                 fields={"name"}, forged=set())  # fmt: skip
    _check(state)
    state.intake(role="shop", who=0, source="order", picks={0}, foreign=None,
                 fields={"name"}, forged={"name"})  # fmt: skip
    _check(state)
    state.read(role="shop", who=0, purpose="billing")
    _check(state)


def test_widening_an_unauthorised_registration_adds_no_marketing_purpose(
    machine: SurfaceMachine,
) -> None:
    """Found on 16786bb: a fulfilment key asserted a registration for direct marketing for
    a customer's address, and marketing could then read the address for direct marketing."""
    state = machine
    _check(state)
    state.intake(role="shop", who=0, source="order", picks={0}, foreign=None,
                 fields=set(), forged=set())  # fmt: skip
    _check(state)
    state.intake(role="fulfilment", who=0, source="registration",
                 picks={0}, foreign=None, fields=set(), forged=set())  # fmt: skip
    _check(state)
    state.read(role="marketing", who=0, purpose="direct_marketing")
    _check(state)
