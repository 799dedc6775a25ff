"""The breach register: affected subjects by query, the 72-hour clock, reports, Art. 34 mails."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from outbox_mail import queued_mails
from records import NOW, customer, take_order
from schutz.audit.models import AuditEntry
from schutz.audit.verify import verify
from schutz.breaches import service
from schutz.breaches.clock import deadline, is_overdue
from schutz.breaches.draft import authority_draft
from schutz.breaches.models import BreachSubject
from schutz.config import Settings
from schutz.errors import Conflict, InvalidInput
from schutz.policy.engine import Engine
from schutz.vault import service as vault
from schutz.vault.keys import Keyring

ADDRESS = ("user.contact.address",)


def _facts(**overrides: object) -> service.BreachFacts:
    values: dict[str, object] = {
        "title": "Label printer export left on a public share",
        "nature": "A CSV of delivery labels was readable without login for two days.",
        "aware_at": NOW,
        "categories": ("user.name", "user.contact.address"),
        "risk": "high",
        "consequences": "Unwanted mail; addresses known to strangers.",
        "measures": "Share removed, access logs reviewed, printer job fixed.",
        "sources": ("order",),
        "occurred_from": NOW - timedelta(days=2),
        "occurred_until": NOW - timedelta(hours=1),
    }
    values.update(overrides)
    return service.BreachFacts(**values)  # type: ignore[arg-type]


def _customers(session: Session, rules: Engine, keyring: Keyring) -> dict[str, str]:
    """An order customer before the breach, one after it, a newsletter-only subscriber."""
    before = take_order(session, rules, keyring, now=NOW - timedelta(days=10)).subject_id
    after = take_order(
        session, rules, keyring, customer(email="late@example.org"), now=NOW + timedelta(hours=1)
    ).subject_id
    reader = take_order(
        session, rules, keyring, {"email": "reader@example.org"}, source="newsletter",
        purposes=["newsletter"], now=NOW - timedelta(days=10),
    ).subject_id  # fmt: skip
    session.commit()
    return {"before": before, "after": after, "reader": reader}


def test_the_query_finds_subjects_whose_concerned_data_was_stored_during_the_breach(
    session: Session, rules: Engine, keyring: Keyring
) -> None:
    who = _customers(session, rules, keyring)

    breach = service.record_breach(
        session, rules.policy, _facts(), actor="staff:dpo", now=NOW + timedelta(hours=2)
    )
    session.commit()

    assert breach.affected_subjects == 1
    assert breach.affected_records == 5  # name and four address fields
    listed = session.execute(
        select(func.count()).where(BreachSubject.subject_id == who["before"])
    ).scalar()
    assert listed == 1
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "breach.recorded")).one()
    assert entry.details["affected_subjects"] == 1
    assert "Ada" not in str(entry.details)


def test_an_unknown_category_or_source_or_a_future_awareness_is_refused(
    session: Session, rules: Engine
) -> None:
    with pytest.raises(InvalidInput, match="category"):
        service.record_breach(
            session, rules.policy, _facts(categories=("user.dna",)), actor="t", now=NOW
        )
    with pytest.raises(InvalidInput, match="source"):
        service.record_breach(session, rules.policy, _facts(sources=("fax",)), actor="t", now=NOW)
    with pytest.raises(InvalidInput, match="future"):
        service.record_breach(
            session, rules.policy, _facts(aware_at=NOW + timedelta(hours=1)), actor="t", now=NOW
        )


def test_the_clock_runs_72_hours_from_awareness_and_a_late_report_needs_reasons(
    session: Session, rules: Engine
) -> None:
    breach = service.record_breach(session, rules.policy, _facts(), actor="t", now=NOW)
    assert deadline(breach) == NOW + timedelta(hours=72)
    later = NOW + timedelta(hours=73)
    assert is_overdue(breach, later)
    assert service.unreported_overdue(session, now=later) == 1
    assert service.unreported_overdue(session, now=NOW + timedelta(hours=71)) == 0

    with pytest.raises(InvalidInput, match="delay"):
        service.mark_reported(
            session, breach.id, reference=None, delay_reason=None, actor="t", now=later
        )
    service.mark_reported(
        session, breach.id, reference="LDI-2026-17", delay_reason="Forensics took a day.",
        actor="t", now=later,
    )  # fmt: skip
    assert service.unreported_overdue(session, now=later) == 0
    with pytest.raises(Conflict):
        service.mark_reported(
            session, breach.id, reference=None, delay_reason="x", actor="t", now=later
        )
    draft = authority_draft(rules.policy, breach, "de")
    assert "Forensics took a day." in draft
    assert "Art. 33 Abs. 3 lit. c" in draft


def test_a_breach_without_risk_is_never_overdue(session: Session, rules: Engine) -> None:
    service.record_breach(session, rules.policy, _facts(risk="none"), actor="t", now=NOW)
    assert service.unreported_overdue(session, now=NOW + timedelta(days=30)) == 0


def test_the_draft_names_what_art_33_3_asks_for(
    session: Session, rules: Engine, keyring: Keyring
) -> None:
    _customers(session, rules, keyring)
    breach = service.record_breach(session, rules.policy, _facts(), actor="t", now=NOW)

    draft = authority_draft(rules.policy, breach, "en")

    assert "Gigaset Communications GmbH" in draft
    assert "Approximate number of data subjects concerned: 1" in draft
    assert "Street and house number" in draft
    assert "Orders in the web shop" in draft
    assert "Share removed" in draft
    assert (NOW + timedelta(hours=72)).strftime("%Y-%m-%d %H:%M") in draft
    assert "Ada" not in draft


def test_subjects_are_mailed_once_sealed_and_the_chain_verifies(
    session: Session, rules: Engine, keyring: Keyring, settings: Settings
) -> None:
    who = _customers(session, rules, keyring)
    breach = service.record_breach(
        session, rules.policy, _facts(categories=("user.contact.email",), sources=()),
        actor="t", now=NOW + timedelta(hours=2),
    )  # fmt: skip
    vault.erase_subject(session, rules.policy, who["reader"], actor="t", now=NOW)
    session.commit()

    done = service.notify_subjects(
        session, rules.policy, keyring, breach.id, actor="t", now=NOW, lang="de"
    )
    again = service.notify_subjects(session, rules.policy, keyring, breach.id, actor="t", now=NOW)
    session.commit()

    assert (done.queued, done.without_address) == (1, 1)
    assert (again.queued, again.already) == (0, 1)
    mails = queued_mails(settings.resolved_database_url, settings.data_dir)
    breach_mails = [m for m in mails if "Sicherheitsvorfall" in m.payload["subject"]]
    assert len(breach_mails) == 1
    assert "ada.lovelace@example.org" in breach_mails[0].payload["to"].lower()
    assert "Was geschehen ist" in breach_mails[0].payload["body"]
    assert verify(session).ok
