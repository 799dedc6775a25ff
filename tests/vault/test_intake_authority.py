"""Write authority at intake: the policy names who may assert a source, a known subject's
stored values never change through intake, and reads take consent state from the ledger."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from records import NOW, customer, take_order
from schutz.audit.models import AuditEntry
from schutz.audit.service import verify
from schutz.consent.service import record_consent
from schutz.errors import Denied
from schutz.policy.engine import Engine
from schutz.vault import service
from schutz.vault.keys import Keyring
from schutz.vault.models import PersonalField


def _entries(session: Session, action: str) -> list[AuditEntry]:
    return list(
        session.scalars(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)
        )
    )


def _held(session: Session, keyring: Keyring, subject_id: str) -> dict[str, str]:
    fields = service.subject_fields(session, keyring, subject_id, actor="t", now=NOW).fields
    return {f.field: f.value for f in fields}


def _purposes(session: Session, subject_id: str, field: str) -> list[str]:
    return list(
        session.scalar(
            select(PersonalField.purposes).where(
                PersonalField.subject_id == subject_id, PersonalField.field == field
            )
        )
        or []
    )


def test_intake_for_known_email_never_changes_stored_values(
    session: Session, rules: Engine, keyring: Keyring
) -> None:
    first = take_order(session, rules, keyring)
    again = take_order(
        session, rules, keyring,
        customer(name="Mallory", **{"postal_address.street": "Fake Street 1"}),
    )  # fmt: skip

    assert (again.subject_id, again.created) == (first.subject_id, False)
    assert set(again.unchanged) == {"name", "postal_address.street"}
    assert "name" not in again.stored
    held = _held(session, keyring, first.subject_id)
    assert held["name"] == "Ada Lovelace"
    assert held["postal_address.street"] == "Hansaallee 299"
    entry = _entries(session, "vault.intake")[-1]
    assert entry.details["unchanged"] == ["name", "postal_address.street"]
    assert "Mallory" not in json.dumps(entry.details)
    assert verify(session).ok


def test_contact_form_intake_adds_only_what_is_new_and_purposes_for_confirmed_values(
    session: Session, rules: Engine, keyring: Keyring
) -> None:
    subject_id = take_order(session, rules, keyring, {"email": "ada@example.org"}).subject_id
    result = service.intake(
        session, rules, keyring, source="contact_form", purposes=["answer_queries"],
        data={"email": "ada@example.org", "name": "Ada"},
        asserted_by="form:contact", actor="subject", now=NOW,
    )  # fmt: skip
    assert result.subject_id == subject_id
    assert result.stored == ("email", "name")
    assert result.unchanged == ()
    assert _purposes(session, subject_id, "email") == [
        "order_processing", "billing", "answer_queries",
    ]  # fmt: skip
    assert _purposes(session, subject_id, "name") == ["answer_queries"]

    other = service.intake(
        session, rules, keyring, source="contact_form", purposes=["answer_queries"],
        data={"email": "ada@example.org", "name": "Someone Else"},
        asserted_by="form:contact", actor="subject", now=NOW,
    )  # fmt: skip
    assert other.unchanged == ("name",)
    assert _held(session, keyring, subject_id)["name"] == "Ada"


def test_intake_from_an_authority_the_source_does_not_name_is_refused_and_audited(
    session: Session, rules: Engine, keyring: Keyring
) -> None:
    attempts = [
        ("registration", ["direct_marketing"], "fulfilment"),
        ("registration", ["information_access"], "marketing"),
        ("order", ["order_processing"], "form:contact"),
        ("contact_form", ["answer_queries"], "shop"),
    ]
    for source, purposes, who in attempts:
        with pytest.raises(Denied) as refused:
            take_order(session, rules, keyring, {"email": "ada@example.org"},
                       source=source, purposes=purposes, asserted_by=who)  # fmt: skip
        assert refused.value.rule == "source_authority"
    assert session.scalars(select(PersonalField)).first() is None
    refusals = _entries(session, "vault.intake_denied")
    assert [(e.details["source"], e.details["asserted_by"]) for e in refusals] == [
        ("registration", "fulfilment"), ("registration", "marketing"),
        ("order", "form:contact"), ("contact_form", "shop"),
    ]  # fmt: skip
    assert all(e.flagged and e.subject_id is None for e in refusals)
    assert verify(session).ok


def test_every_bundled_source_names_who_may_assert_it(rules: Engine) -> None:
    for name, source in rules.policy.sources.items():
        assert source.asserted_by, name
    assert "form:contact" in rules.policy.sources["contact_form"].asserted_by  # type: ignore[index]
    assert "fulfilment" not in rules.policy.sources["registration"].asserted_by  # type: ignore[index]


def test_read_subject_honours_objection_without_caller_state(
    session: Session, rules: Engine, keyring: Keyring
) -> None:
    subject_id = service.intake(
        session, rules, keyring, source="registration", purposes=["direct_marketing"],
        data={"email": "max@example.org"}, asserted_by="shop", actor="t", now=NOW,
    ).subject_id  # fmt: skip
    read = service.read_subject(
        session, rules, keyring, subject_id, "direct_marketing",
        actor="apikey:mk", role="marketing", now=NOW,
    )  # fmt: skip
    assert read.data == {"email": "max@example.org"}

    record_consent(
        session, rules.policy, subject_id=subject_id, purpose="direct_marketing",
        action="object", channel="post", evidence="scan:P-1", actor="staff:1", now=NOW,
    )  # fmt: skip
    with pytest.raises(Denied) as refused:
        service.read_subject(
            session, rules, keyring, subject_id, "direct_marketing",
            actor="apikey:mk", role="marketing", now=NOW,
        )  # fmt: skip
    assert refused.value.rule == "objected"
    assert _entries(session, "vault.read_denied")[-1].details["rule"] == "objected"
