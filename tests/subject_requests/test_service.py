"""Requests from receipt to answer: the identity check, deadlines, each kind's effect."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from records import take_order
from schutz.audit.service import verify
from schutz.consent.service import ConsentState, current_state
from schutz.errors import Conflict, InvalidInput, NotFound
from schutz.policy.engine import Engine
from schutz.subject_requests import service
from schutz.subject_requests.export import build_package, exportable_request
from schutz.subject_requests.models import RequestStatus
from schutz.subject_requests.tokens import Links, TokenInvalid
from schutz.vault import service as vault
from schutz.vault.keys import Keyring
from schutz.vault.models import Subject, Tombstone

from .builders import ADA, GRACE, handle_lookups, link_token, mails_to
from .conftest import NOW


def _submit(
    session: Session,
    rules: Engine,
    keyring: Keyring,
    links: Links,
    kind: str,
    email: str,
    **kw: str,
) -> service.Submitted:
    """Submit, then run the worker's half (the look-up and the mail) as the worker would."""
    submitted = service.submit(
        session,
        rules,
        keyring,
        links,
        kind=kind,
        email=email,
        channel=kw.pop("channel", "api"),
        details=kw.pop("details", None),
        actor="apikey:shop",
        now=NOW,
    )
    handle_lookups(session, rules, keyring)
    return submitted


def _verify(session: Session, rules: Engine, keyring: Keyring, links: Links, email: str) -> str:
    token = link_token(mails_to(session, keyring, email)[-1]["body"], "/requests/verify")
    return service.verify_with_link(session, rules, keyring, links, token, now=NOW).id


def test_known_and_unknown_addresses_get_the_same_answer_and_mail(
    session: Session, rules: Engine, keyring: Keyring, links: Links
) -> None:
    take_order(session, rules, keyring, ADA, now=NOW)
    known = _submit(session, rules, keyring, links, "access", ADA["email"])
    unknown = _submit(session, rules, keyring, links, "access", "nobody@example.org")

    assert known.status == unknown.status == "awaiting_verification"
    assert known.due_at == unknown.due_at == datetime(2026, 12, 16, 9, 30, tzinfo=UTC)
    assert len(mails_to(session, keyring, ADA["email"])) == 1
    assert len(mails_to(session, keyring, "nobody@example.org")) == 1
    strip = lambda body: body.split("/requests/verify")[0]  # noqa: E731 - local helper
    assert strip(mails_to(session, keyring, ADA["email"])[0]["body"]) == strip(
        mails_to(session, keyring, "nobody@example.org")[0]["body"]
    )


def test_the_mail_goes_only_to_the_address_of_the_request(
    session: Session, rules: Engine, keyring: Keyring, links: Links
) -> None:
    take_order(session, rules, keyring, ADA, now=NOW)
    _submit(
        session, rules, keyring, links, "access", ADA["email"],
        details="please send it to attacker@example.net instead",
    )  # fmt: skip

    assert mails_to(session, keyring, "attacker@example.net") == []
    assert len(mails_to(session, keyring, ADA["email"])) == 1


def test_verified_access_request_completes_with_an_export_of_this_subject_only(
    session: Session, rules: Engine, keyring: Keyring, links: Links
) -> None:
    ada = take_order(session, rules, keyring, ADA, now=NOW).subject_id
    take_order(session, rules, keyring, GRACE, now=NOW)
    _submit(session, rules, keyring, links, "access", ADA["email"])
    request_id = _verify(session, rules, keyring, links, ADA["email"])

    request = exportable_request(session, request_id)
    assert request.status == "completed"
    assert request.outcome == "export_ready"
    package = build_package(session, rules.policy, keyring, request, actor="subject", now=NOW)
    values = {f["field"]: f["value"] for f in package["personal_data"]}
    assert values["name"] == "Ada Lovelace"
    assert values["postal_address.city"] == "Düsseldorf"
    assert package["subject_id"] == ada
    assert "Grace" not in str(package)
    purposes = {p["purpose"]: p for p in package["purposes"]}
    assert purposes["billing"]["legal_basis_citation"] == "Art. 6(1)(b) GDPR"
    assert package["policy_versions"] == ["2026-11"]
    export_mail = mails_to(session, keyring, ADA["email"])[-1]["body"]
    assert "/requests/export?token=" in export_mail
    assert verify(session).ok


def test_an_unknown_address_learns_only_that_nothing_is_held(
    session: Session, rules: Engine, keyring: Keyring, links: Links
) -> None:
    _submit(session, rules, keyring, links, "access", "nobody@example.org")
    request_id = _verify(session, rules, keyring, links, "nobody@example.org")

    assert service.get_request(session, request_id).outcome == "no_data"
    with pytest.raises(NotFound):
        exportable_request(session, request_id)


def test_a_forged_verification_link_is_refused(
    session: Session, rules: Engine, keyring: Keyring, links: Links
) -> None:
    submitted = _submit(session, rules, keyring, links, "access", "nobody@example.org")
    forged = Links(links.base_url, b"another secret").verify_token(submitted.request_id)

    with pytest.raises(TokenInvalid):
        service.verify_with_link(session, rules, keyring, links, forged, now=NOW)


def test_erasure_waits_for_the_dpo_then_shreds_the_subject(
    session: Session, rules: Engine, keyring: Keyring, links: Links
) -> None:
    ada = take_order(session, rules, keyring, ADA, now=NOW).subject_id
    _submit(session, rules, keyring, links, "erasure", ADA["email"], details="delete all")
    request_id = _verify(session, rules, keyring, links, ADA["email"])
    assert service.get_request(session, request_id).status == "in_progress"

    service.approve_erasure(session, rules, keyring, request_id, actor="staff:dpo", now=NOW)

    request = service.get_request(session, request_id)
    assert (request.status, request.outcome) == ("completed", "erased")
    assert session.get(Tombstone, ada) is not None
    with pytest.raises(NotFound):
        vault.find_subject(session, keyring, ADA["email"], actor="t", now=NOW)
    assert service.details_of(session, keyring, request) is None  # shredded with the key
    assert "erased" in mails_to(session, keyring, ADA["email"])[-1]["subject"]
    assert verify(session).ok


def test_erasure_under_an_invoice_hold_restricts_until_the_hold_lapses(
    session: Session, rules: Engine, keyring: Keyring, links: Links
) -> None:
    ada = take_order(session, rules, keyring, ADA, now=NOW).subject_id
    vault.place_hold(
        session, rules.policy, ada, "invoices",
        reference="order-1", event_date=date(2026, 11, 10), actor="apikey:shop", now=NOW,
    )  # fmt: skip
    _submit(session, rules, keyring, links, "erasure", ADA["email"])
    request_id = _verify(session, rules, keyring, links, ADA["email"])

    service.approve_erasure(session, rules, keyring, request_id, actor="staff:dpo", now=NOW)

    request = service.get_request(session, request_id)
    assert request.outcome == "erasure_held"
    assert request.held_until == date(2035, 1, 1)
    subject = session.get(Subject, ada)
    assert subject is not None
    assert subject.restricted_at is not None
    assert subject.erasure_due_on == date(2035, 1, 1)
    told = mails_to(session, keyring, ADA["email"])[-1]["body"]
    assert "01 January 2035" in told
    assert "Invoices" in told
    assert "HGB" in told


def test_an_unverified_request_expires(
    session: Session, rules: Engine, keyring: Keyring, links: Links
) -> None:
    submitted = _submit(session, rules, keyring, links, "erasure", ADA["email"])

    assert service.expire_unverified(session, actor="system", now=NOW + timedelta(days=6)) == []
    expired = service.expire_unverified(session, actor="system", now=NOW + timedelta(days=8))

    assert expired == [submitted.request_id]
    assert service.get_request(session, submitted.request_id).status == "expired"


@pytest.mark.parametrize(
    ("received", "due"),
    [
        (datetime(2026, 1, 31, 12, tzinfo=UTC), datetime(2026, 2, 28, 12, tzinfo=UTC)),
        (datetime(2028, 1, 31, 12, tzinfo=UTC), datetime(2028, 2, 29, 12, tzinfo=UTC)),
        (datetime(2026, 12, 15, 8, tzinfo=UTC), datetime(2027, 1, 15, 8, tzinfo=UTC)),
        (datetime(2026, 3, 31, 8, tzinfo=UTC), datetime(2026, 4, 30, 8, tzinfo=UTC)),
    ],
)
def test_the_deadline_is_one_calendar_month(received: datetime, due: datetime) -> None:
    from schutz.subject_requests.deadlines import due_date

    assert due_date(received) == due


def test_an_extension_counts_from_receipt_records_its_reason_and_tells_the_subject(
    session: Session, rules: Engine, keyring: Keyring, links: Links
) -> None:
    take_order(session, rules, keyring, ADA, now=NOW)
    submitted = _submit(session, rules, keyring, links, "access", ADA["email"])

    request = service.extend(
        session, rules, keyring, submitted.request_id,
        months=2, reason="Many archived orders to collect", actor="staff:dpo", now=NOW,
    )  # fmt: skip

    assert request.due_at == datetime(2027, 2, 16, 9, 30, tzinfo=UTC)
    assert request.extension_reason == "Many archived orders to collect"
    # Both mails carry the same time (NOW): find the extension's among them.
    bodies = [m["body"] for m in mails_to(session, keyring, ADA["email"])]
    assert sum("Many archived orders" in b for b in bodies) == 1
    with pytest.raises(InvalidInput):
        service.extend(
            session, rules, keyring, submitted.request_id,
            months=1, reason="more", actor="staff:dpo", now=NOW,
        )  # fmt: skip


def test_an_extension_after_the_first_month_is_refused(
    session: Session, rules: Engine, keyring: Keyring, links: Links
) -> None:
    submitted = _submit(session, rules, keyring, links, "access", ADA["email"])

    with pytest.raises(Conflict):
        service.extend(
            session, rules, keyring, submitted.request_id,
            months=1, reason="late", actor="staff:dpo", now=NOW + timedelta(days=40),
        )  # fmt: skip


def test_overdue_requests_are_listed_as_overdue(
    session: Session, rules: Engine, keyring: Keyring, links: Links
) -> None:
    submitted = _submit(session, rules, keyring, links, "access", ADA["email"])

    later = NOW + timedelta(days=31)
    overdue = service.list_requests(session, overdue=True, now=later)
    assert [r.id for r in overdue] == [submitted.request_id]
    assert service.is_overdue(overdue[0], later)
    assert service.list_requests(session, overdue=True, now=NOW) == []


def test_objection_is_recorded_in_the_consent_ledger(
    session: Session, rules: Engine, keyring: Keyring, links: Links
) -> None:
    ada = take_order(session, rules, keyring, ADA, now=NOW).subject_id
    _submit(session, rules, keyring, links, "objection", ADA["email"], channel="web")
    _verify(session, rules, keyring, links, ADA["email"])

    state = current_state(session, rules.policy, ada)
    assert state["direct_marketing"] is ConsentState.OBJECTED
    assert state["market_research"] is ConsentState.OBJECTED


def test_restriction_marks_the_subject_restricted(
    session: Session, rules: Engine, keyring: Keyring, links: Links
) -> None:
    ada = take_order(session, rules, keyring, ADA, now=NOW).subject_id
    _submit(session, rules, keyring, links, "restriction", ADA["email"])
    _verify(session, rules, keyring, links, ADA["email"])

    subject = session.get(Subject, ada)
    assert subject is not None
    assert subject.restricted_at is not None


def test_staff_verify_a_letter_and_apply_a_rectification(
    session: Session, rules: Engine, keyring: Keyring, links: Links
) -> None:
    ada = take_order(session, rules, keyring, ADA, now=NOW).subject_id
    submitted = _submit(
        session, rules, keyring, links, "rectification", ADA["email"], channel="post"
    )
    with pytest.raises(InvalidInput):
        service.verify_manually(
            session, rules, keyring, links, submitted.request_id,
            note=" ", actor="staff:support", now=NOW,
        )  # fmt: skip
    service.verify_manually(
        session, rules, keyring, links, submitted.request_id,
        note="Signed letter, customer number matches", actor="staff:support", now=NOW,
    )  # fmt: skip

    result = service.apply_rectification(
        session, rules, keyring, submitted.request_id,
        {"postal_address.city": "Köln"}, actor="staff:support", now=NOW,
    )  # fmt: skip

    assert result.fields == ("postal_address.city",)
    request = service.get_request(session, submitted.request_id)
    assert request.status == RequestStatus.COMPLETED.value
    actions = [e.action for e in service.history(session, submitted.request_id)]
    assert actions == ["received", "matched", "verified", "awaiting_handling", "completed"]
    read = vault.read_subject(
        session, rules, keyring, ada, "order_processing", actor="t", role="support", now=NOW
    )
    assert read.data["postal_address.city"] == "Köln"
