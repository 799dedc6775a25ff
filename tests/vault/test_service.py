"""Intake, look-up and purpose-checked reads against real databases (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from records import NOW, customer, take_order
from schutz.audit.models import AuditEntry
from schutz.errors import Conflict, Denied, InvalidInput, NotFound
from schutz.policy.engine import Engine
from schutz.vault import service
from schutz.vault.crypto import IntegrityCheckError
from schutz.vault.keys import Keyring
from schutz.vault.models import PersonalField, Subject

ADDRESS = {
    "postal_address.street",
    "postal_address.postal_code",
    "postal_address.city",
    "postal_address.country",
}


def _read(
    session: Session, rules: Engine, keyring: Keyring, subject_id: str, purpose: str, **kw: object
) -> service.SubjectData:
    return service.read_subject(
        session,
        rules,
        keyring,
        subject_id,
        purpose,
        actor=str(kw.pop("actor", "apikey:test")),
        role=str(kw.pop("role", "shop")),
        now=NOW,
        **kw,  # type: ignore[arg-type]
    )


def _audit(session: Session, action: str) -> list[AuditEntry]:
    return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def test_intake_stores_every_field_encrypted_and_audits(
    session: Session, rules: Engine, keyring: Keyring
) -> None:
    result = take_order(session, rules, keyring)
    session.commit()
    assert result.created
    assert set(result.stored) == set(customer())
    rows = session.scalars(
        select(PersonalField).where(PersonalField.subject_id == result.subject_id)
    ).all()
    assert {r.field for r in rows} == set(customer())
    assert all(b"Ada" not in r.ciphertext for r in rows)
    (entry,) = _audit(session, "vault.intake")
    assert entry.subject_id == result.subject_id
    assert entry.details["source"] == "order"


def test_known_email_returns_the_same_subject_and_adds_purposes(
    session: Session, rules: Engine, keyring: Keyring
) -> None:
    first = take_order(session, rules, keyring)
    again = take_order(
        session,
        rules,
        keyring,
        {"email": "ada.lovelace@example.ORG"},
        source="newsletter",
        purposes=["newsletter"],
    )
    session.commit()
    assert again.subject_id == first.subject_id
    assert not again.created
    email = session.scalars(select(PersonalField).where(PersonalField.field == "email")).one()
    assert email.purposes == ["order_processing", "billing", "newsletter"]
    assert session.scalar(select(func.count()).select_from(Subject)) == 1


def test_fields_the_purposes_do_not_need_are_refused_and_nothing_is_stored(
    session: Session, rules: Engine, keyring: Keyring
) -> None:
    with pytest.raises(InvalidInput) as caught:
        take_order(
            session, rules, keyring, customer(), source="newsletter", purposes=["newsletter"]
        )
    message = str(caught.value)
    for refused in ("name", "phone", "postal_address.city"):
        assert refused in message
    assert "Ada" not in message
    session.rollback()
    assert session.scalar(select(func.count()).select_from(PersonalField)) == 0
    assert session.scalar(select(func.count()).select_from(Subject)) == 0


@pytest.mark.parametrize(
    ("source", "purposes"),
    [("order", ["newsletter"]), ("catalogue", ["order_processing"]), ("order", [])],
)
def test_unknown_source_or_purpose_is_refused(
    session: Session, rules: Engine, keyring: Keyring, source: str, purposes: list[str]
) -> None:
    with pytest.raises(InvalidInput):
        take_order(session, rules, keyring, source=source, purposes=purposes)


def test_read_returns_only_what_the_purpose_and_role_allow(
    session: Session, rules: Engine, keyring: Keyring
) -> None:
    subject = take_order(session, rules, keyring).subject_id
    got = _read(session, rules, keyring, subject, "order_processing", role="fulfilment")
    assert got.data["name"] == "Ada Lovelace"
    assert got.data["postal_address.city"] == "Düsseldorf"
    assert set(got.data) >= ADDRESS
    billing = _read(session, rules, keyring, subject, "billing", role="shop")
    assert "phone" not in billing.data  # billing does not cover the phone number
    (entry, _) = _audit(session, "vault.read")
    assert entry.purpose == "order_processing"
    assert not entry.flagged


def test_read_for_a_purpose_the_role_lacks_is_denied_with_the_reason(
    session: Session, rules: Engine, keyring: Keyring
) -> None:
    subject = take_order(session, rules, keyring).subject_id
    with pytest.raises(Denied) as caught:
        _read(session, rules, keyring, subject, "direct_marketing", role="support")
    assert "support" in caught.value.reason
    (entry,) = _audit(session, "vault.read_denied")
    assert entry.details["rule"] == "role"


def test_data_is_read_only_for_the_purposes_it_was_collected_for(
    session: Session, rules: Engine, keyring: Keyring
) -> None:
    subject = take_order(session, rules, keyring).subject_id
    with pytest.raises(Denied) as caught:
        _read(session, rules, keyring, subject, "direct_marketing", role="marketing")
    assert "collected" in caught.value.reason


def test_exception_purpose_needs_a_justification_and_is_flagged(
    session: Session, rules: Engine, keyring: Keyring
) -> None:
    subject = take_order(session, rules, keyring).subject_id
    with pytest.raises(Denied, match="not allowed") as caught:
        _read(session, rules, keyring, subject, "legal_claims", role="dpo")
    assert "justification" in caught.value.reason
    reason = "Court order 4 O 12/26 of the Landgericht Düsseldorf"
    got = _read(session, rules, keyring, subject, "legal_claims", role="dpo", justification=reason)
    assert got.flagged
    assert got.data["name"] == "Ada Lovelace"
    (entry,) = _audit(session, "vault.read")
    assert entry.flagged
    assert "Landgericht" not in str(entry.details)
    sealed = entry.details["justification"]
    assert service.reveal_justification(session, keyring, subject, sealed) == reason


def test_exception_purpose_is_open_only_to_the_roles_the_policy_names(
    session: Session, rules: Engine, keyring: Keyring
) -> None:
    subject = take_order(session, rules, keyring).subject_id
    with pytest.raises(Denied):
        _read(session, rules, keyring, subject, "legal_claims", role="support", justification="x")


def test_lookup_finds_by_blind_index_and_audits(
    session: Session, rules: Engine, keyring: Keyring
) -> None:
    subject = take_order(session, rules, keyring).subject_id
    found = service.find_subject(session, keyring, "ADA.LOVELACE@example.org", actor="t", now=NOW)
    assert found == subject
    with pytest.raises(NotFound):
        service.find_subject(session, keyring, "nobody@example.org", actor="t", now=NOW)
    with pytest.raises(NotFound):
        service.find_subject(session, keyring, "not an address", actor="t", now=NOW)
    assert len(_audit(session, "vault.lookup")) == 3


def test_tampered_ciphertext_is_reported_and_audited_never_returned(
    session: Session, rules: Engine, keyring: Keyring
) -> None:
    subject = take_order(session, rules, keyring).subject_id
    row = session.scalars(select(PersonalField).where(PersonalField.field == "name")).one()
    flipped = bytearray(row.ciphertext)
    flipped[15] ^= 0x80
    session.execute(
        update(PersonalField).where(PersonalField.id == row.id).values(ciphertext=bytes(flipped))
    )
    with pytest.raises(IntegrityCheckError, match="'name'"):
        _read(session, rules, keyring, subject, "order_processing")
    (entry,) = _audit(session, "vault.integrity_failure")
    assert entry.flagged
    assert entry.details["field"] == "name"


def test_ciphertext_moved_to_another_subject_is_detected(
    session: Session, rules: Engine, keyring: Keyring
) -> None:
    ada = take_order(session, rules, keyring).subject_id
    bob = take_order(
        session, rules, keyring, customer(email="bob@example.org", name="Bob Byte")
    ).subject_id
    ada_name = session.scalars(
        select(PersonalField).where(PersonalField.subject_id == ada, PersonalField.field == "name")
    ).one()
    session.execute(
        update(PersonalField)
        .where(PersonalField.subject_id == bob, PersonalField.field == "name")
        .values(ciphertext=ada_name.ciphertext)
    )
    with pytest.raises(IntegrityCheckError):
        _read(session, rules, keyring, bob, "order_processing")
    # Moving a value to another field of the same subject fails as well.
    session.execute(
        update(PersonalField)
        .where(PersonalField.subject_id == ada, PersonalField.field == "postal_address.city")
        .values(ciphertext=ada_name.ciphertext)
    )
    with pytest.raises(IntegrityCheckError):
        _read(session, rules, keyring, ada, "order_processing")


def test_rectify_corrects_and_completes_within_the_collected_purposes(
    session: Session, rules: Engine, keyring: Keyring
) -> None:
    data = {k: v for k, v in customer().items() if k != "phone"}
    subject = take_order(session, rules, keyring, data).subject_id
    changed = service.rectify(
        session,
        rules,
        keyring,
        subject,
        {"name": "Ada King", "phone": "+4930999999"},
        actor="t",
        now=NOW,
    )
    assert set(changed) == {"name", "phone"}
    got = _read(session, rules, keyring, subject, "order_processing")
    assert got.data["name"] == "Ada King"
    assert got.data["phone"] == "+4930999999"
    (entry,) = _audit(session, "vault.rectify")
    assert entry.details == {"rectified": ["name"], "completed": ["phone"]}


def test_rectify_refuses_fields_no_collected_purpose_covers(
    session: Session, rules: Engine, keyring: Keyring
) -> None:
    subject = take_order(
        session,
        rules,
        keyring,
        {"email": "n@example.org"},
        source="newsletter",
        purposes=["newsletter"],
    ).subject_id
    with pytest.raises(InvalidInput, match="name"):
        service.rectify(session, rules, keyring, subject, {"name": "N"}, actor="t", now=NOW)


def test_rectify_refuses_another_subjects_email(
    session: Session, rules: Engine, keyring: Keyring
) -> None:
    take_order(session, rules, keyring)
    bob = take_order(session, rules, keyring, customer(email="bob@example.org")).subject_id
    with pytest.raises(Conflict):
        service.rectify(
            session, rules, keyring, bob, {"email": "ada.lovelace@example.org"}, actor="t", now=NOW
        )
