"""Orders and disclosures on both backends: minimal payloads, C2 refusals, idempotency, erasure."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from records import customer, take_order
from schutz.audit.models import AuditEntry
from schutz.disclosures import service
from schutz.disclosures.models import Disclosure, DisclosureStatus, Order
from schutz.disclosures.payloads import OrderFacts
from schutz.errors import Conflict, Denied, InvalidInput, NotFound
from schutz.mail.models import OutboxMessage
from schutz.policy.engine import Engine
from schutz.vault import service as vault
from schutz.vault.keys import Keyring
from schutz.vault.models import LegalHold

from .builders import NOW, order_for

ADDRESS = {"street", "postal_code", "city", "country"}


def _place(
    session: Session, rules: Engine, keyring: Keyring, order: OrderFacts
) -> service.OrderResult:
    return service.place_order(
        session,
        rules,
        keyring,
        order,
        role="shop",
        actor="apikey:shop",
        now=NOW,
    )


def _payloads(session: Session, keyring: Keyring, ref: str = "GS-1001") -> dict[str, dict]:
    views = service.order_disclosures(
        session, keyring, ref, with_payload=True, actor="apikey:dpo", now=NOW
    )
    return {v.recipient: v.payload for v in views}  # type: ignore[misc]


def test_carrier_receives_exactly_name_and_delivery_address(
    session: Session, rules: Engine, keyring: Keyring
) -> None:
    subject_id = take_order(session, rules, keyring).subject_id
    _place(session, rules, keyring, order_for(subject_id))

    carrier = _payloads(session, keyring)["freight_carrier"]

    assert set(carrier["data"]) == {"order_ref", "name", "postal_address"}
    assert carrier["data"]["name"] == "Ada Lovelace"
    assert set(carrier["data"]["postal_address"]) == ADDRESS
    assert carrier["data"]["postal_address"]["city"] == "Düsseldorf"
    assert carrier["purpose"] == "order_processing"
    for absent in ("Ada.Lovelace", "+49", "PAY-7F3A", "44.98", "CL390"):
        assert absent.lower() not in str(carrier).lower()


def test_payment_provider_receives_reference_and_amount_and_no_address(
    session: Session, rules: Engine, keyring: Keyring
) -> None:
    subject_id = take_order(session, rules, keyring).subject_id
    _place(session, rules, keyring, order_for(subject_id))

    psp = _payloads(session, keyring)["payment_service_provider"]

    assert psp["data"] == {
        "order_ref": "GS-1001",
        "payment": {"reference": "PAY-7F3A-2291"},
        "total": "44.98",
        "currency": "EUR",
    }
    assert psp["purpose"] == "billing"
    for absent in ("Hansaallee", "40549", "Düsseldorf", "Ada", "postal_address", "name"):
        assert absent not in str(psp)


def test_bank_receives_what_the_policy_lists(
    session: Session, rules: Engine, keyring: Keyring
) -> None:
    subject_id = take_order(session, rules, keyring).subject_id
    result = _place(session, rules, keyring, order_for(subject_id))

    bank = _payloads(session, keyring)["bank"]

    assert set(bank["data"]) == {"order_ref", "name", "payment", "total", "currency"}
    categories = {d.recipient: d.categories for d in result.disclosures}
    assert categories["bank"] == ("user.name", "user.payment")
    assert categories["payment_service_provider"] == ("user.payment",)
    assert "user.contact.address.city" in categories["freight_carrier"]
    assert all(d.status == "queued" for d in result.disclosures)


@pytest.mark.parametrize(
    ("recipient", "purpose"),
    [
        ("data_broker", "order_processing"),
        ("advertising_network", "direct_marketing"),
        ("freight_carrier", "direct_marketing"),
        ("payment_service_provider", "order_processing"),
    ],
)
def test_a_recipient_or_purpose_the_policy_does_not_list_is_refused_and_audited(
    session: Session, rules: Engine, recipient: str, purpose: str
) -> None:
    with pytest.raises(Denied):
        service.check_recipient(
            session, rules, recipient, purpose, subject_id=None, actor="apikey:shop", now=NOW
        )

    entry = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "disclosure.refused")
    ).one()
    assert entry.details["recipient"] == recipient
    assert entry.flagged


def test_a_replayed_order_creates_no_second_disclosure(
    session: Session, rules: Engine, keyring: Keyring
) -> None:
    subject_id = take_order(session, rules, keyring).subject_id
    first = _place(session, rules, keyring, order_for(subject_id))
    again = _place(session, rules, keyring, order_for(subject_id))

    assert first.created
    assert not again.created
    assert [d.id for d in again.disclosures] == [d.id for d in first.disclosures]
    assert session.scalar(select(func.count()).select_from(Disclosure)) == 3
    assert session.scalar(select(func.count()).select_from(Order)) == 1
    assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 3


def test_the_same_reference_with_other_contents_is_a_conflict(
    session: Session, rules: Engine, keyring: Keyring
) -> None:
    subject_id = take_order(session, rules, keyring).subject_id
    _place(session, rules, keyring, order_for(subject_id))

    with pytest.raises(Conflict):
        _place(session, rules, keyring, order_for(subject_id, total=Decimal("1.00")))


def test_the_order_is_kept_under_the_invoice_legal_hold(
    session: Session, rules: Engine, keyring: Keyring
) -> None:
    subject_id = take_order(session, rules, keyring).subject_id
    _place(session, rules, keyring, order_for(subject_id))

    hold = session.scalars(select(LegalHold).where(LegalHold.subject_id == subject_id)).one()
    assert (hold.hold, hold.reference) == ("invoices", "GS-1001")
    assert hold.lapses_on.isoformat() == "2035-01-01"  # end of 2026 + 8 years (AO §147)


def test_nothing_personal_is_stored_in_plaintext(
    session: Session, rules: Engine, keyring: Keyring
) -> None:
    subject_id = take_order(session, rules, keyring).subject_id
    _place(session, rules, keyring, order_for(subject_id))

    blobs = [row.payload for row in session.scalars(select(Disclosure))]
    blobs += [row.details for row in session.scalars(select(Order))]
    for blob in blobs:
        for value in (b"Ada", b"Hansaallee", b"PAY-7F3A", b"CL390"):
            assert value not in blob
    outbox = [row.payload for row in session.scalars(select(OutboxMessage))]
    assert all(set(p) == {"disclosure_id"} for p in outbox)
    placed = session.scalars(select(AuditEntry).where(AuditEntry.action == "order.placed")).one()
    assert "Ada" not in str(placed.details)
    assert "PAY-7F3A" not in str(placed.details)


def test_erasure_after_the_hold_shreds_the_payloads_and_keeps_the_record(
    session: Session, rules: Engine, keyring: Keyring
) -> None:
    subject_id = take_order(session, rules, keyring).subject_id
    _place(session, rules, keyring, order_for(subject_id))
    later = datetime(2035, 2, 1, tzinfo=UTC)

    vault.erase_subject(session, rules.policy, subject_id, actor="dpo", now=later)

    views = service.order_disclosures(
        session, keyring, "GS-1001", with_payload=True, actor="apikey:dpo", now=later
    )
    assert len(views) == 3
    assert all(v.payload is None for v in views)
    assert {v.recipient for v in service.subject_disclosures(session, subject_id)} == {
        "freight_carrier",
        "payment_service_provider",
        "bank",
    }
    with pytest.raises(NotFound):
        service.pending_delivery(session, keyring, views[0].id)


def test_a_restricted_subject_stops_the_order_before_anything_is_written(
    session: Session, rules: Engine, keyring: Keyring
) -> None:
    subject_id = take_order(session, rules, keyring).subject_id
    vault.restrict_subject(session, subject_id, actor="dpo", reason="accuracy", now=NOW)

    with pytest.raises(Denied):
        _place(session, rules, keyring, order_for(subject_id))

    assert session.scalar(select(func.count()).select_from(Disclosure)) == 0
    assert session.scalar(select(func.count()).select_from(Order)) == 0


def test_data_not_collected_for_orders_cannot_be_disclosed(
    session: Session, rules: Engine, keyring: Keyring
) -> None:
    subject_id = vault.intake(
        session,
        rules,
        keyring,
        source="registration",
        purposes=["information_access"],
        data=customer(),
        asserted_by="shop",
        actor="apikey:shop",
        now=NOW,
    ).subject_id

    with pytest.raises(Denied):
        _place(session, rules, keyring, order_for(subject_id))


def test_a_missing_delivery_address_is_named_without_values(
    session: Session, rules: Engine, keyring: Keyring
) -> None:
    subject_id = vault.intake(
        session,
        rules,
        keyring,
        source="order",
        purposes=["order_processing", "billing"],
        data={"email": "grace@example.org", "name": "Grace Hopper"},
        asserted_by="shop",
        actor="apikey:shop",
        now=NOW,
    ).subject_id

    with pytest.raises(InvalidInput, match=r"postal_address\.city") as caught:
        _place(session, rules, keyring, order_for(subject_id))
    assert "Grace" not in str(caught.value)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"order_ref": "bad ref/1"}, "order_ref"),
        ({"items": ()}, "items"),
        ({"total": Decimal("-1")}, "total"),
        ({"total": Decimal("1.001")}, "total"),
        ({"total": Decimal("NaN")}, "total"),
        ({"currency": "XYZ"}, "currency"),
        ({"payment_method": "Credit Card"}, "payment.method"),
        ({"payment_reference": ""}, "payment.reference"),
    ],
)
def test_malformed_orders_are_refused_by_field(
    session: Session, rules: Engine, keyring: Keyring, override: dict, message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        _place(session, rules, keyring, order_for("0" * 32, **override))


def test_only_a_dead_delivery_can_be_retried_and_it_keeps_its_idempotency_key(
    session: Session, rules: Engine, keyring: Keyring
) -> None:
    subject_id = take_order(session, rules, keyring).subject_id
    result = _place(session, rules, keyring, order_for(subject_id))
    target = result.disclosures[0].id

    with pytest.raises(Conflict):
        service.retry_disclosure(session, target, actor="staff:1", now=NOW)
    service.record_outcome(session, target, status=DisclosureStatus.DEAD, error="HTTP 410", now=NOW)
    service.retry_disclosure(session, target, actor="staff:1", now=NOW)

    row = session.get(Disclosure, target)
    assert row is not None
    assert row.status == "queued"
    assert row.retries == 1
    outbox = session.get(OutboxMessage, row.outbox_id)
    assert outbox is not None
    assert outbox.payload == {"disclosure_id": target}
    assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 4
