"""Typed builders for vault tests: a fixed clock, a complete customer, an order intake."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from schutz.policy.engine import Engine
from schutz.vault import service
from schutz.vault.keys import Keyring

NOW = datetime(2026, 11, 15, 10, 0, tzinfo=UTC)

CUSTOMER: dict[str, str] = {
    "email": "Ada.Lovelace@Example.org",
    "name": "Ada Lovelace",
    "phone": "+49 30 1234567",
    "postal_address.street": "Hansaallee 299",
    "postal_address.postal_code": "40549",
    "postal_address.city": "Düsseldorf",
    "postal_address.country": "DE",
}


def customer(**overrides: str) -> dict[str, str]:
    """A complete customer record, as an order brings it (flattened field names)."""
    return {**CUSTOMER, **overrides}


def take_order(
    session: Session, rules: Engine, keyring: Keyring, data: dict[str, str] | None = None, **kw: Any
) -> service.IntakeResult:
    """Intake from the shop's order source for order processing and billing."""
    return service.intake(
        session,
        rules,
        keyring,
        source=kw.pop("source", "order"),
        purposes=kw.pop("purposes", ["order_processing", "billing"]),
        data=customer() if data is None else data,
        asserted_by=kw.pop("asserted_by", "shop"),
        actor=kw.pop("actor", "apikey:shop"),
        now=kw.pop("now", NOW),
    )


def many_customers(
    session: Session, rules: Engine, keyring: Keyring, n: int, *, email: str, name: str
) -> list[str]:
    """`n` subjects stored for order processing and committed; `email` and `name` are
    formats of `i`, e.g. "k{i}@example.org"."""
    ids = [
        service.intake(
            session,
            rules,
            keyring,
            source="order",
            purposes=["order_processing"],
            data={"email": email.format(i=i), "name": name.format(i=i)},
            asserted_by="shop",
            actor="test",
            now=NOW,
        ).subject_id
        for i in range(n)
    ]
    session.commit()
    return ids
