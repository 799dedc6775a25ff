"""Custom fields and identities in the vault, on SQLite and PostgreSQL: intake under the
same write authority and purpose checks, sealed at rest, found by identity through a blind
index only, unique, rectified, exported and erased like built-in fields."""

from __future__ import annotations

import pytest
import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from records import NOW
from schutz.errors import Conflict, Denied, InvalidInput, NotFound
from schutz.policy.engine import Engine
from schutz.policy.loader import parse_policy
from schutz.vault import service
from schutz.vault.keys import Keyring
from schutz.vault.models import PersonalField, SubjectIdentity
from vocabulary_policy import vocabulary_data, vocabulary_policy

RULES = Engine(vocabulary_policy())
ORDER = ["order_processing", "billing"]


def _intake(session: Session, keyring: Keyring, role: str = "shop", **data: str) -> str:
    result = service.intake(
        session, RULES, keyring, source="order", purposes=ORDER, data=data,
        asserted_by=role, actor="test", now=NOW,
    )  # fmt: skip
    return result.subject_id


def _find(session: Session, keyring: Keyring, value: str, role: str = "shop") -> str:
    return service.find_by_identity(
        session, RULES.policy, keyring, "customer_number", value,
        role=role, actor="test", now=NOW,
    )  # fmt: skip


def _held(session: Session, keyring: Keyring, subject_id: str) -> dict[str, str]:
    fields = service.subject_fields(session, keyring, subject_id, actor="t", now=NOW).fields
    return {f.field: f.value for f in fields}


def test_custom_fields_are_stored_sealed_and_read_for_their_purpose(
    session: Session, keyring: Keyring
) -> None:
    subject_id = _intake(
        session, keyring, email="ada@example.org", customer_number="C-000123", loyalty_tier="gold"
    )

    blobs = session.scalars(select(PersonalField.ciphertext)).all()
    assert not any(b"C-000123" in blob or b"gold" in blob for blob in blobs)
    assert not any(
        b"C-000123" in row for row in session.scalars(select(SubjectIdentity.value_index))
    )
    read = service.read_subject(
        session, RULES, keyring, subject_id, "order_processing", actor="t", role="shop", now=NOW
    )
    assert read.data["loyalty_tier"] == "gold"
    assert read.data["customer_number"] == "C-000123"


def test_custom_field_outside_the_sources_purposes_is_refused(
    session: Session, keyring: Keyring
) -> None:
    with pytest.raises(InvalidInput, match="loyalty_tier"):
        service.intake(
            session, RULES, keyring, source="registration", purposes=["information_access"],
            data={"email": "ada@example.org", "loyalty_tier": "gold"},
            asserted_by="shop", actor="t", now=NOW,
        )  # fmt: skip


def test_custom_field_keeps_write_authority(session: Session, keyring: Keyring) -> None:
    with pytest.raises(Denied):
        _intake(session, keyring, role="marketing", customer_number="C-000123")


def test_custom_field_values_follow_the_policys_form(session: Session, keyring: Keyring) -> None:
    with pytest.raises(InvalidInput) as caught:
        _intake(session, keyring, customer_number="X-1", loyalty_tier="g" * 21)

    message = str(caught.value)
    assert "customer_number: does not have the form" in message
    assert "loyalty_tier: longer than 20 characters" in message
    assert "X-1" not in message


def test_subject_is_found_by_identity_alone(session: Session, keyring: Keyring) -> None:
    subject_id = _intake(session, keyring, email="ada@example.org", customer_number="C-000123")

    assert _find(session, keyring, " C-000123 ") == subject_id
    again = _intake(session, keyring, customer_number="C-000123", loyalty_tier="silver")
    assert again == subject_id
    assert _held(session, keyring, subject_id)["loyalty_tier"] == "silver"
    with pytest.raises(NotFound):
        _find(session, keyring, "C-999999")


def test_identity_is_unique_and_a_clash_names_no_holder(session: Session, keyring: Keyring) -> None:
    first = _intake(session, keyring, email="ada@example.org", customer_number="C-000123")

    with pytest.raises(Conflict) as caught:
        _intake(session, keyring, email="eve@example.org", customer_number="C-000123")
    assert "customer_number" in str(caught.value)
    assert first not in str(caught.value)
    assert "ada" not in str(caught.value)


def test_look_up_by_identity_is_only_for_the_roles_the_policy_names(
    session: Session, keyring: Keyring
) -> None:
    _intake(session, keyring, customer_number="C-000123")

    with pytest.raises(Denied):
        _find(session, keyring, "C-000123", role="marketing")
    with pytest.raises(InvalidInput):
        service.find_by_identity(
            session, RULES.policy, keyring, "loyalty_tier", "gold",
            role="shop", actor="t", now=NOW,
        )  # fmt: skip


def test_rectified_identity_is_found_under_its_new_value_only(
    session: Session, keyring: Keyring
) -> None:
    subject_id = _intake(session, keyring, email="ada@example.org", customer_number="C-000123")
    other = _intake(session, keyring, email="bob@example.org", customer_number="C-000456")

    service.rectify(
        session, RULES, keyring, subject_id, {"customer_number": "C-000124"}, actor="t", now=NOW
    )
    assert _find(session, keyring, "C-000124") == subject_id
    with pytest.raises(NotFound):
        _find(session, keyring, "C-000123")
    with pytest.raises(Conflict):
        service.rectify(
            session, RULES, keyring, other, {"customer_number": "C-000124"}, actor="t", now=NOW
        )


def test_export_lists_custom_fields(session: Session, keyring: Keyring) -> None:
    subject_id = _intake(session, keyring, email="ada@example.org", loyalty_tier="gold")

    assert _held(session, keyring, subject_id)["loyalty_tier"] == "gold"


def test_erasure_forgets_the_identity(session: Session, keyring: Keyring) -> None:
    subject_id = _intake(session, keyring, email="ada@example.org", customer_number="C-000123")

    service.erase_subject(session, RULES.policy, subject_id, actor="t", now=NOW)

    assert session.scalars(select(SubjectIdentity)).all() == []
    with pytest.raises(NotFound):
        _find(session, keyring, "C-000123")
    assert _intake(session, keyring, customer_number="C-000123") != subject_id


def _only_dpo_finds_customer_numbers() -> Engine:
    data = vocabulary_data()
    data["custom_fields"]["customer_number"]["lookup_roles"] = ["dpo"]
    return Engine(parse_policy(yaml.safe_dump(data, sort_keys=False), "vocabulary.yaml"))


def test_an_intake_cannot_find_a_subject_by_an_identity_its_role_may_not_look_up(
    session: Session, keyring: Keyring
) -> None:
    """Sending only a customer number would name its holder's subject id, and a clash would
    tell that the number is held: a role outside `lookup_roles` learns neither (403)."""
    held = _intake(session, keyring, email="ada@example.org", customer_number="C-000123")
    rules = _only_dpo_finds_customer_numbers()
    for data in ({"customer_number": "C-000123"},
                 {"email": "eve@example.org", "customer_number": "C-000123"}):  # fmt: skip
        with pytest.raises(Denied) as refused:
            service.intake(
                session, rules, keyring, source="order", purposes=ORDER, data=data,
                asserted_by="shop", actor="test", now=NOW,
            )  # fmt: skip
        assert refused.value.rule == "identity_role"
        assert held not in str(refused.value)
    assert session.scalar(select(func.count()).select_from(SubjectIdentity)) == 1
