"""Legal hold periods per HGB §257 / AO §147 (as amended 2025): counted from the year's end."""

from __future__ import annotations

from datetime import date

import pytest

from schutz.config import BUNDLED_POLICY_DIR
from schutz.policy.loader import load_policy_set
from schutz.vault.holds import is_kept, lapse_date

POLICY = load_policy_set(BUNDLED_POLICY_DIR).get("2026-11")


@pytest.mark.parametrize(
    ("hold", "event", "lapses"),
    [
        ("invoices", date(2025, 3, 10), date(2034, 1, 1)),  # 8 years from end of 2025
        ("invoices", date(2026, 12, 31), date(2035, 1, 1)),
        ("invoices", date(2026, 1, 1), date(2035, 1, 1)),
        ("commercial_letters", date(2026, 6, 1), date(2033, 1, 1)),  # 6 years
        ("books", date(2026, 6, 1), date(2037, 1, 1)),  # 10 years
    ],
)
def test_hold_lapses_after_the_statutory_period(hold: str, event: date, lapses: date) -> None:
    assert lapse_date(POLICY.legal_holds[hold], event) == lapses


@pytest.mark.parametrize(
    ("category", "kept", "expected"),
    [
        ("user.name", frozenset({"user.name"}), True),
        ("user.contact.address.city", frozenset({"user.contact.address"}), True),
        ("user.contact.email", frozenset({"user.name"}), False),
        ("user.contact.email", None, True),
    ],
)
def test_kept_categories_include_their_children(
    category: str, kept: frozenset[str] | None, expected: bool
) -> None:
    assert is_kept(category, kept) is expected
