"""Retention applied: each purpose's period from the policy, counted from its start event."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from records import NOW, customer, take_order
from schutz.audit.models import AuditEntry
from schutz.audit.verify import verify
from schutz.consent.service import record_consent
from schutz.errors import InvalidInput, NotFound
from schutz.policy.engine import Engine
from schutz.retention.events import record_subject_event
from schutz.retention.rules import add_period
from schutz.retention.service import apply_expiry, plan_expiry
from schutz.vault import service as vault
from schutz.vault.keys import Keyring
from schutz.vault.models import PersonalField, Subject

DAY = timedelta(days=1)


def _fields(session: Session, subject_id: str) -> dict[str, list[str]]:
    rows = session.scalars(select(PersonalField).where(PersonalField.subject_id == subject_id))
    return {r.field: list(r.purposes) for r in rows}


def _run(session: Session, rules: Engine, when: object) -> None:
    plans = plan_expiry(session, rules.policy, now=when)  # type: ignore[arg-type]
    apply_expiry(session, rules.policy, plans, actor="system:retention", now=when)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("start", "period", "end"),
    [
        ("2026-01-31T10:00:00+00:00", "P1M", "2026-02-28T10:00:00+00:00"),
        ("2026-11-15T10:00:00+00:00", "P6M", "2027-05-15T10:00:00+00:00"),
        ("2024-02-29T00:00:00+00:00", "P1Y", "2025-02-28T00:00:00+00:00"),
        ("2026-11-15T10:00:00+00:00", "P90D", "2027-02-13T10:00:00+00:00"),
        ("2026-11-15T10:00:00+00:00", "P1Y2M3D", "2028-01-18T10:00:00+00:00"),
    ],
)
def test_periods_add_years_months_and_days(start: str, period: str, end: str) -> None:
    from datetime import datetime

    assert add_period(datetime.fromisoformat(start), period) == datetime.fromisoformat(end)


def test_a_query_is_deleted_six_months_after_the_last_contact(
    session: Session, rules: Engine, keyring: Keyring
) -> None:
    subject_id = take_order(
        session, rules, keyring, {"email": "q@example.org", "name": "Quentin"},
        source="contact_form", purposes=["answer_queries"], asserted_by="support",
    ).subject_id  # fmt: skip
    record_subject_event(
        session, subject_id, "last_contact", at=NOW + 30 * DAY, actor="t", now=NOW + 30 * DAY
    )

    _run(session, rules, NOW + 200 * DAY)  # six months after intake, not after the contact
    assert set(_fields(session, subject_id)) == {"email", "name"}

    _run(session, rules, NOW + 30 * DAY + 185 * DAY)
    subject = session.get(Subject, subject_id)
    assert subject is not None
    assert subject.erased_at is not None  # nothing was left: crypto-shredded
    assert verify(session).ok


def test_a_field_keeps_only_the_purposes_that_still_run(
    session: Session, rules: Engine, keyring: Keyring
) -> None:
    subject_id = take_order(
        session, rules, keyring, {"email": "r@example.org", "name": "Rita"},
        source="registration", purposes=["information_access", "service_improvement"],
    ).subject_id  # fmt: skip

    _run(session, rules, NOW + 800 * DAY)  # service_improvement: two years after collection

    assert _fields(session, subject_id) == {
        "email": ["information_access"], "name": ["information_access"],
    }  # fmt: skip
    entry = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "vault.retention_expired")
    ).one()
    assert "service_improvement: P2Y after collection" in str(entry.details["rules"])
    assert "Rita" not in str(entry.details)


def test_contract_data_runs_until_the_contract_ends_and_a_legal_hold_keeps_its_part(
    session: Session, rules: Engine, keyring: Keyring
) -> None:
    subject_id = take_order(
        session, rules, keyring, customer(), purposes=["order_processing"]
    ).subject_id
    vault.place_hold(
        session, rules.policy, subject_id, "commercial_letters", reference="L-1",
        event_date=NOW.date(), actor="t", now=NOW,
    )  # fmt: skip
    _run(session, rules, NOW + 5000 * DAY)
    assert len(_fields(session, subject_id)) == 7  # no contract_ended event: still running

    record_subject_event(
        session, subject_id, "contract_ended", at=NOW + DAY, actor="t", now=NOW + DAY
    )
    _run(session, rules, NOW + 4 * 365 * DAY)

    # Commercial letters (6 years) keep e-mail and name; the rest is gone.
    assert set(_fields(session, subject_id)) == {"email", "name"}


def test_newsletter_address_goes_at_withdrawal(
    session: Session, rules: Engine, keyring: Keyring
) -> None:
    subject_id = take_order(
        session, rules, keyring, {"email": "n@example.org"}, source="newsletter",
        purposes=["newsletter"],
    ).subject_id  # fmt: skip
    _run(session, rules, NOW + 3000 * DAY)
    assert "email" in _fields(session, subject_id)

    record_consent(
        session, rules.policy, subject_id=subject_id, purpose="newsletter", action="withdraw",
        channel="web", actor="subject", now=NOW + DAY,
    )  # fmt: skip
    _run(session, rules, NOW + 2 * DAY)
    assert _fields(session, subject_id) == {}


def test_events_are_validated_and_need_a_live_subject(
    session: Session, rules: Engine, keyring: Keyring
) -> None:
    subject_id = take_order(session, rules, keyring).subject_id
    with pytest.raises(InvalidInput):
        record_subject_event(session, subject_id, "birthday", at=None, actor="t", now=NOW)
    with pytest.raises(InvalidInput):
        record_subject_event(session, subject_id, "last_contact", at=NOW + DAY, actor="t", now=NOW)
    with pytest.raises(NotFound):
        record_subject_event(session, "0" * 32, "last_contact", at=None, actor="t", now=NOW)
    vault.erase_subject(session, rules.policy, subject_id, actor="t", now=NOW)
    with pytest.raises(NotFound):
        record_subject_event(session, subject_id, "last_contact", at=None, actor="t", now=NOW)


def test_a_restricted_subject_is_left_as_it_is(
    session: Session, rules: Engine, keyring: Keyring
) -> None:
    subject_id = take_order(
        session, rules, keyring, {"email": "s@example.org", "name": "Sam"}, source="survey",
        purposes=["market_research"], asserted_by="marketing",
    ).subject_id  # fmt: skip
    vault.restrict_subject(session, subject_id, actor="t", reason="legal_claims", now=NOW)

    _run(session, rules, NOW + 800 * DAY)

    assert set(_fields(session, subject_id)) == {"email", "name"}


def test_an_expired_address_can_no_longer_find_the_person(
    session: Session, rules: Engine, keyring: Keyring
) -> None:
    """Retention that deletes the address but keeps other fields takes the address's blind
    index too: a look-up by it finds nobody, and a new intake with it starts afresh."""
    subject_id = take_order(
        session, rules, keyring, {"email": "n@example.org", "name": "Nora"}
    ).subject_id  # fmt: skip
    facts = {f.field: f for f in vault.fields_of(session, [subject_id])}
    vault.expire_fields(
        session, subject_id, drop=[facts["email"]], narrow=[], rules={"email": "test"},
        actor="system:retention", now=NOW,
    )  # fmt: skip
    assert set(_fields(session, subject_id)) == {"name"}
    with pytest.raises(NotFound):
        vault.find_subject(session, keyring, "n@example.org", actor="test", now=NOW)
    again = take_order(session, rules, keyring, {"email": "n@example.org", "name": "Nora"})
    assert again.subject_id != subject_id
