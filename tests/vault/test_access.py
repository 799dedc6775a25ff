"""The vault's API for other domains: Art. 15 export, sealing, listing and batched reads."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from records import NOW, customer, take_order
from schutz.audit.models import AuditEntry
from schutz.audit.service import verify
from schutz.consent.service import record_consent
from schutz.errors import InvalidInput, NotFound
from schutz.policy.engine import Engine
from schutz.vault import service
from schutz.vault.crypto import IntegrityCheckError
from schutz.vault.keys import Keyring


def _entries(session: Session, action: str) -> list[AuditEntry]:
    return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def _registered(session: Session, rules: Engine, keyring: Keyring, email: str) -> str:
    return service.intake(
        session,
        rules,
        keyring,
        source="registration",
        purposes=["direct_marketing"],
        data={"email": email},
        asserted_by="shop",
        actor="t",
        now=NOW,
    ).subject_id


def test_subject_fields_decrypts_everything_and_audits_an_access_export(
    session: Session, rules: Engine, keyring: Keyring
) -> None:
    subject_id = take_order(session, rules, keyring).subject_id
    held = service.subject_fields(
        session, keyring, subject_id, actor="subject", now=NOW, reason="export:r1"
    )
    assert held.value("email") == "ada.lovelace@example.org"
    assert held.value("postal_address.city") == "Düsseldorf"
    assert {f.field for f in held.fields} == set(customer())
    email = next(f for f in held.fields if f.field == "email")
    assert (email.source, email.purposes) == ("order", ("order_processing", "billing"))
    assert email.created_at == NOW
    assert email.category == rules.policy.fields["email"]
    (entry,) = _entries(session, "vault.access_export")
    assert entry.subject_id == subject_id
    assert entry.details["reason"] == "export:r1"
    assert "Düsseldorf" not in json.dumps(entry.details)
    assert verify(session).ok


def test_sealed_blob_opens_only_for_its_subject_and_context(
    session: Session, rules: Engine, keyring: Keyring
) -> None:
    ada = take_order(session, rules, keyring).subject_id
    bob = take_order(session, rules, keyring, customer(email="bob@example.org")).subject_id
    sealed = service.seal_for_subject(session, keyring, ada, b"secret", context="outbox")
    assert b"secret" not in sealed
    opened = service.open_for_subject(session, keyring, ada, sealed, context="outbox")
    assert opened == b"secret"
    with pytest.raises(IntegrityCheckError):
        service.open_for_subject(session, keyring, ada, sealed, context="request.details")
    with pytest.raises(IntegrityCheckError):
        service.open_for_subject(session, keyring, bob, sealed, context="outbox")
    with pytest.raises(InvalidInput):
        service.seal_for_subject(session, keyring, ada, b"x", context="a|b")


def test_erasure_makes_every_sealed_blob_unreadable(
    session: Session, rules: Engine, keyring: Keyring
) -> None:
    ada = take_order(session, rules, keyring).subject_id
    sealed = service.seal_for_subject(session, keyring, ada, b"secret", context="outbox")
    service.erase_subject(session, rules.policy, ada, actor="dpo", now=NOW)
    with pytest.raises(NotFound):
        service.open_for_subject(session, keyring, ada, sealed, context="outbox")
    with pytest.raises(NotFound):
        service.seal_for_subject(session, keyring, ada, b"again", context="outbox")
    with pytest.raises(NotFound):
        service.subject_fields(session, keyring, ada, actor="t", now=NOW)
    assert service.contact_address(session, keyring, ada) is None
    assert not service.is_live(session, ada)


@pytest.mark.parametrize("page", [1, 2, 1000])
def test_subjects_for_purpose_lists_each_holder_once_in_id_order(
    session: Session, rules: Engine, keyring: Keyring, page: int
) -> None:
    marketing = {_registered(session, rules, keyring, f"m{i}@example.org") for i in range(4)}
    take_order(session, rules, keyring)  # order processing only: not a marketing holder
    listed = list(service.subjects_for_purpose(session, "direct_marketing", batch_size=page))
    assert listed == sorted(marketing)
    by_email = service.subjects_for_purpose(
        session, "direct_marketing", field="email", batch_size=page
    )
    assert list(by_email) == sorted(marketing)
    assert len(list(service.subjects_for_purpose(session, "billing", batch_size=page))) == 1


def test_batched_read_decides_per_subject_and_writes_one_audit_entry(
    session: Session, rules: Engine, keyring: Keyring
) -> None:
    ids = [_registered(session, rules, keyring, f"m{i}@example.org") for i in range(4)]
    customer_id = take_order(session, rules, keyring).subject_id  # not collected for marketing
    service.restrict_subject(session, ids[3], actor="t", reason="accuracy_contested", now=NOW)
    record_consent(
        session, rules.policy, subject_id=ids[2], purpose="direct_marketing", action="object",
        channel="post", evidence="scan:1", actor="t", now=NOW,
    )  # fmt: skip
    found = service.read_emails_for_purpose(
        session,
        rules,
        keyring,
        [*ids, customer_id, "0" * 32],
        "direct_marketing",
        role="marketing",
        actor="apikey:marketing",
        now=NOW,
    )
    assert sorted(found) == sorted([(ids[0], "m0@example.org"), (ids[1], "m1@example.org")])
    (entry,) = [e for e in _entries(session, "vault.read") if e.subject_id is None]
    assert entry.purpose == "direct_marketing"
    assert entry.details["batch_size"] == 6
    assert entry.details["count"] == 2
    assert sorted(entry.details["subject_ids"]) == sorted(ids[:2])
    assert sum(entry.details["refused"].values()) == 4
    assert entry.details["refused"]["purpose_binding"] == 1
    assert "@" not in json.dumps(entry.details)
    assert verify(session).ok


def test_batched_read_honours_consent_for_addresses_collected_elsewhere(
    session: Session, rules: Engine, keyring: Keyring
) -> None:
    subject_id = take_order(session, rules, keyring).subject_id

    def read() -> list[tuple[str, str]]:
        return service.read_emails_for_purpose(
            session, rules, keyring, [subject_id], "newsletter",
            role="marketing", actor="t", now=NOW,
        )  # fmt: skip

    assert read() == []
    for action in ("grant", "confirm"):
        record_consent(
            session, rules.policy, subject_id=subject_id, purpose="newsletter", action=action,
            channel="web", actor="subject", now=NOW,
        )  # fmt: skip
    assert read() == [(subject_id, "ada.lovelace@example.org")]
