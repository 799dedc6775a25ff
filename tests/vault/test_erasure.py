"""Erasure by crypto-shredding, restriction, legal holds and the retention run."""

from __future__ import annotations

from datetime import date, timedelta
from typing import cast

import pytest
from sqlalchemy import Table, func, select
from sqlalchemy.orm import Session

from records import NOW, take_order
from schutz.audit.service import verify
from schutz.errors import Conflict, Denied, NotFound
from schutz.policy.engine import Engine
from schutz.vault import service
from schutz.vault.keys import Keyring
from schutz.vault.models import PersonalField, Subject, Tombstone


def _fields(session: Session, subject_id: str) -> set[str]:
    rows = session.scalars(
        select(PersonalField.field).where(PersonalField.subject_id == subject_id)
    )
    return set(rows)


def test_erasure_shreds_key_fields_and_index_and_leaves_a_tombstone(
    session: Session, rules: Engine, keyring: Keyring
) -> None:
    subject_id = take_order(session, rules, keyring).subject_id
    result = service.erase_subject(session, rules.policy, subject_id, actor="dpo", now=NOW)
    session.commit()
    assert result.erased
    subject = session.get(Subject, subject_id)
    assert subject is not None
    assert subject.wrapped_key is None
    assert subject.email_index is None
    assert subject.erased_at == NOW
    assert _fields(session, subject_id) == set()
    tomb = session.get(Tombstone, subject_id)
    assert tomb is not None
    assert tomb.erased_at == NOW
    with pytest.raises(NotFound):
        service.find_subject(session, keyring, "ada.lovelace@example.org", actor="t", now=NOW)
    with pytest.raises(NotFound):
        service.read_subject(
            session, rules, keyring, subject_id, "order_processing", actor="t", role="shop", now=NOW
        )
    assert verify(session).ok


def test_erasure_touches_only_that_subject(
    session: Session, rules: Engine, keyring: Keyring
) -> None:
    ada = take_order(session, rules, keyring).subject_id
    from records import customer

    bob = take_order(session, rules, keyring, customer(email="bob@example.org")).subject_id
    service.erase_subject(session, rules.policy, ada, actor="dpo", now=NOW)
    assert len(_fields(session, bob)) == 7


def test_erased_email_can_register_again_as_a_new_subject(
    session: Session, rules: Engine, keyring: Keyring
) -> None:
    old = take_order(session, rules, keyring).subject_id
    service.erase_subject(session, rules.policy, old, actor="dpo", now=NOW)
    new = take_order(session, rules, keyring)
    assert new.created
    assert new.subject_id != old


def test_erasing_twice_is_not_found(session: Session, rules: Engine, keyring: Keyring) -> None:
    subject_id = take_order(session, rules, keyring).subject_id
    service.erase_subject(session, rules.policy, subject_id, actor="dpo", now=NOW)
    with pytest.raises(NotFound):
        service.erase_subject(session, rules.policy, subject_id, actor="dpo", now=NOW)


def test_restriction_leaves_only_the_exception_purposes(
    session: Session, rules: Engine, keyring: Keyring
) -> None:
    subject_id = take_order(session, rules, keyring).subject_id
    service.restrict_subject(session, subject_id, actor="dpo", reason="accuracy_contested", now=NOW)
    with pytest.raises(Denied) as caught:
        service.read_subject(
            session, rules, keyring, subject_id, "order_processing", actor="t", role="shop", now=NOW
        )
    assert "Art. 18" in caught.value.reason
    kept = service.read_subject(
        session,
        rules,
        keyring,
        subject_id,
        "legal_obligation",
        actor="t",
        role="dpo",
        justification="VAT audit",
        now=NOW,
    )
    assert "name" in kept.data
    service.lift_restriction(session, subject_id, actor="dpo", now=NOW)
    service.read_subject(
        session, rules, keyring, subject_id, "order_processing", actor="t", role="shop", now=NOW
    )


def test_erasure_under_an_invoice_hold_keeps_invoice_data_restricted_until_it_lapses(
    session: Session, rules: Engine, keyring: Keyring
) -> None:
    subject_id = take_order(session, rules, keyring).subject_id
    hold = service.place_hold(
        session,
        rules.policy,
        subject_id,
        "invoices",
        reference="order-1001",
        event_date=date(2026, 11, 15),
        actor="apikey:shop",
        now=NOW,
    )
    assert hold.lapses_on == date(2035, 1, 1)
    result = service.erase_subject(session, rules.policy, subject_id, actor="dpo", now=NOW)
    assert not result.erased
    assert result.held_until == date(2035, 1, 1)
    # Invoices need name and address, not e-mail or phone: those go at once.
    assert _fields(session, subject_id) == {
        "name",
        "postal_address.street",
        "postal_address.postal_code",
        "postal_address.city",
        "postal_address.country",
    }
    with pytest.raises(NotFound):
        service.find_subject(session, keyring, "ada.lovelace@example.org", actor="t", now=NOW)
    with pytest.raises(Denied):
        service.read_subject(
            session, rules, keyring, subject_id, "billing", actor="t", role="shop", now=NOW
        )
    with pytest.raises(Conflict):
        service.lift_restriction(session, subject_id, actor="dpo", now=NOW)

    # Nothing happens before the lapse date ...
    assert service.run_retention(session, rules.policy, actor="system", now=NOW) == []
    day_before = NOW.replace(year=2034, month=12, day=31)
    assert service.run_retention(session, rules.policy, actor="system", now=day_before) == []
    # ... and on it the erasure completes.
    lapse = NOW.replace(year=2035, month=1, day=1)
    (done,) = service.run_retention(session, rules.policy, actor="system", now=lapse)
    assert done.erased
    assert _fields(session, subject_id) == set()
    assert session.get(Tombstone, subject_id) is not None
    assert verify(session).ok


def test_a_later_hold_pushes_the_held_erasure_on(
    session: Session, rules: Engine, keyring: Keyring
) -> None:
    subject_id = take_order(session, rules, keyring).subject_id
    args = {"actor": "shop", "now": NOW}
    service.place_hold(
        session, rules.policy, subject_id, "commercial_letters", reference="letter-1",
        event_date=date(2026, 1, 5), **args,  # type: ignore[arg-type]
    )  # fmt: skip
    service.erase_subject(session, rules.policy, subject_id, actor="dpo", now=NOW)
    service.place_hold(
        session, rules.policy, subject_id, "invoices", reference="order-2",
        event_date=date(2026, 11, 20), **args,  # type: ignore[arg-type]
    )  # fmt: skip
    subject = session.get(Subject, subject_id)
    assert subject is not None
    assert subject.erasure_due_on == date(2035, 1, 1)
    early = NOW.replace(year=2033, month=6, day=1)
    assert service.run_retention(session, rules.policy, actor="system", now=early) == []


def test_erasure_of_a_thousand_fields_is_one_delete(
    session: Session, rules: Engine, keyring: Keyring
) -> None:
    subject_id = take_order(session, rules, keyring).subject_id
    session.execute(
        cast(Table, PersonalField.__table__).insert(),
        [
            {
                "subject_id": subject_id,
                "field": f"note.{i:04d}",
                "category": "user.name",
                "key_version": 1,
                "ciphertext": b"\x00" * 40,
                "source": "order",
                "purposes": ["order_processing"],
                "policy_version": "2026-11",
                "created_at": NOW,
                "updated_at": NOW + timedelta(seconds=i),
            }
            for i in range(1000)
        ],
    )
    service.erase_subject(session, rules.policy, subject_id, actor="dpo", now=NOW)
    assert session.scalar(select(func.count()).select_from(PersonalField)) == 0
