"""Builders of records for tests, one per kind (tests/ is on sys.path: `from records import`).

Customers: `customer()` is a complete customer's data as an order brings it, `take_order`
stores one in the vault in the test's session, `many_customers` stores many, and
`api_customer` stores one through the shop's API (`POST /api/v1/subjects`).
Staff users and API keys: `sign_in_staff` and `api_keys` in tests/webapp.py.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from schutz.policy.engine import Engine
from schutz.vault import service
from schutz.vault.keys import Keyring
from webapp import Headers, TestClient

NOW = datetime(2026, 11, 15, 10, 0, tzinfo=UTC)
ORDER_PURPOSES = ("order_processing", "billing")

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
    session: Session,
    rules: Engine,
    keyring: Keyring,
    data: dict[str, str] | None = None,
    *,
    source: str = "order",
    purposes: Sequence[str] = ORDER_PURPOSES,
    asserted_by: str = "shop",
    actor: str = "apikey:shop",
    now: datetime = NOW,
) -> service.IntakeResult:
    """Intake in the test's session, by default from the shop's order source for order
    processing and billing, of `customer()`; not committed."""
    return service.intake(
        session,
        rules,
        keyring,
        source=source,
        purposes=list(purposes),
        data=customer() if data is None else data,
        asserted_by=asserted_by,
        actor=actor,
        now=now,
    )


def many_customers(
    session: Session, rules: Engine, keyring: Keyring, n: int, *, email: str, name: str
) -> list[str]:
    """`n` subjects stored for order processing and committed; `email` and `name` are
    formats of `i`, e.g. "k{i}@example.org"."""
    ids = [
        take_order(
            session, rules, keyring, {"email": email.format(i=i), "name": name.format(i=i)},
            purposes=["order_processing"], actor="test",
        ).subject_id
        for i in range(n)
    ]  # fmt: skip
    session.commit()
    return ids


def api_customer(
    client: TestClient,
    auth: Headers,
    data: Mapping[str, object],
    *,
    source: str = "order",
    purposes: Sequence[str] = ORDER_PURPOSES,
) -> str:
    """A customer stored through `POST /api/v1/subjects` with the shop's key (nested data,
    as the API takes it); returns the subject id."""
    body = {"source": source, "purposes": list(purposes), "data": dict(data)}
    made = client.post("/api/v1/subjects", json=body, headers=auth("shop"))
    assert made.status_code == 201, made.text
    return str(made.json()["subject_id"])
