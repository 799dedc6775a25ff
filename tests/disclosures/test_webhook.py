"""Webhook delivery through the outbox to a real local receiver: signed, keyed, classified."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine as SqlEngine
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from records import take_order
from schutz.config import Settings
from schutz.db import make_session_factory
from schutz.disclosures import service
from schutz.disclosures.endpoints import set_endpoint
from schutz.disclosures.models import Disclosure
from schutz.disclosures.webhook import classify, webhook_sender_for
from schutz.mail.models import OutboxKind, OutboxMessage
from schutz.mail.service import deliver_due
from schutz.policy.engine import Engine
from schutz.vault import service as vault
from schutz.vault.keys import Keyring

from .builders import NOW, Receiver, order_for, secret_file


@pytest.fixture
def sessions(engine: SqlEngine) -> sessionmaker[Session]:
    return make_session_factory(engine)


@pytest.fixture
def ordered(
    sessions: sessionmaker[Session],
    rules: Engine,
    keyring: Keyring,
    receiver: Receiver,
    tmp_path: Path,
) -> list[str]:
    """One order placed and committed, every recipient pointed at the local receiver."""
    with sessions() as session:
        for name in rules.policy.recipients:
            set_endpoint(
                session,
                rules.policy,
                name,
                url=receiver.url,
                secret_file=secret_file(tmp_path / "secrets", name, receiver.secret),
                actor="cli",
                now=NOW,
            )
        subject_id = take_order(session, rules, keyring).subject_id
        result = service.place_order(
            session, rules, keyring, order_for(subject_id), role="shop", actor="t", now=NOW
        )
        session.commit()
    return [d.id for d in result.disclosures]


def _deliver(
    sessions: sessionmaker[Session], settings: Settings, *, minutes: int = 0
) -> dict[str, list[str]]:
    report = deliver_due(
        sessions,
        settings,
        now=NOW + timedelta(minutes=minutes),
        kind=OutboxKind.WEBHOOK,
        send=webhook_sender_for(sessions, settings),
    )
    return {"sent": report.sent, "retrying": report.retrying, "dead": report.dead}


def _statuses(sessions: sessionmaker[Session]) -> dict[str, str]:
    with sessions() as session:
        return {d.recipient: d.status for d in session.scalars(select(Disclosure))}


def test_each_disclosure_arrives_signed_with_its_id_as_idempotency_key(
    sessions: sessionmaker[Session], settings: Settings, receiver: Receiver, ordered: list[str]
) -> None:
    report = _deliver(sessions, settings)

    assert len(report["sent"]) == 3
    assert set(receiver.delivered) == set(ordered)
    assert receiver.bad_signatures == 0
    post = receiver.posts[0]
    assert post["headers"]["Content-Type"] == "application/json"
    assert post["headers"]["Schutz-Signature"].startswith("t=")
    assert post["body"]["id"] == post["key"]
    assert set(_statuses(sessions).values()) == {"delivered"}


def test_the_body_sent_is_the_body_recorded_for_the_dpo(
    sessions: sessionmaker[Session],
    settings: Settings,
    keyring: Keyring,
    receiver: Receiver,
    ordered: list[str],
) -> None:
    _deliver(sessions, settings)

    with sessions() as session:
        views = service.order_disclosures(
            session, keyring, "GS-1001", with_payload=True, actor="t", now=NOW
        )
    assert {v.id: v.payload for v in views} == receiver.delivered


@pytest.mark.parametrize("status", [500, 503, 408, 429])
def test_a_server_error_or_throttling_is_tried_again_later(
    sessions: sessionmaker[Session],
    settings: Settings,
    receiver: Receiver,
    ordered: list[str],
    status: int,
) -> None:
    receiver.statuses = [status] * 3

    first = _deliver(sessions, settings)
    assert len(first["retrying"]) == 3
    assert set(_statuses(sessions).values()) == {"retrying"}
    assert _deliver(sessions, settings)["sent"] == []  # back-off: not yet due

    second = _deliver(sessions, settings, minutes=2)
    assert len(second["sent"]) == 3
    assert set(receiver.delivered) == set(ordered)


@pytest.mark.parametrize("status", [400, 401, 404, 410, 422])
def test_a_client_error_is_permanent_and_the_delivery_is_dead(
    sessions: sessionmaker[Session],
    settings: Settings,
    receiver: Receiver,
    ordered: list[str],
    status: int,
) -> None:
    receiver.statuses = [status] * 3

    report = _deliver(sessions, settings)

    assert len(report["dead"]) == 3
    with sessions() as session:
        rows = list(session.scalars(select(Disclosure)))
    assert {(r.status, r.last_error) for r in rows} == {("dead", f"HTTP {status}")}


def test_a_dead_delivery_sent_again_arrives_once_under_the_same_key(
    sessions: sessionmaker[Session],
    settings: Settings,
    receiver: Receiver,
    ordered: list[str],
) -> None:
    receiver.statuses = [410, 200, 200]
    _deliver(sessions, settings)
    with sessions() as session:
        dead = session.scalars(select(Disclosure).where(Disclosure.status == "dead")).one()
        service.retry_disclosure(session, dead.id, actor="staff:1", now=NOW)
        session.commit()

    report = _deliver(sessions, settings)

    assert len(report["sent"]) == 1
    assert receiver.by_key[dead.id] == 2  # refused once, accepted once
    assert set(receiver.delivered) == set(ordered)


def test_an_unreachable_receiver_is_retried(
    sessions: sessionmaker[Session], settings: Settings, receiver: Receiver, ordered: list[str]
) -> None:
    receiver.stop()

    report = _deliver(sessions, settings)

    assert len(report["retrying"]) == 3
    with sessions() as session:
        errors = {d.last_error for d in session.scalars(select(Disclosure))}
    assert errors == {"ConnectionRefusedError errno 111"}


def test_a_disclosure_whose_subject_was_erased_is_never_sent(
    sessions: sessionmaker[Session],
    settings: Settings,
    rules: Engine,
    receiver: Receiver,
    ordered: list[str],
) -> None:
    with sessions() as session:
        subject_id = session.scalars(select(Disclosure.subject_id)).first()
        assert subject_id is not None
        vault.erase_subject(
            session, rules.policy, subject_id, actor="dpo", now=NOW.replace(year=2036)
        )
        session.commit()

    report = _deliver(sessions, settings)

    assert len(report["dead"]) == 3
    assert receiver.posts == []


def test_without_an_endpoint_the_delivery_waits(
    sessions: sessionmaker[Session], settings: Settings, receiver: Receiver, ordered: list[str]
) -> None:
    with sessions() as session:
        from schutz.disclosures.models import RecipientEndpoint

        session.delete(session.get(RecipientEndpoint, "bank"))
        session.commit()

    report = _deliver(sessions, settings)

    assert (len(report["sent"]), len(report["retrying"])) == (2, 1)
    with sessions() as session:
        outbox = session.scalars(
            select(OutboxMessage).where(OutboxMessage.status == "pending")
        ).one()
        assert outbox.last_error == "RetryableDeliveryError"


@pytest.mark.parametrize(
    ("status", "outcome"),
    [(200, "delivered"), (204, "delivered"), (301, None), (404, "dead"), (429, None), (502, None)],
)
def test_status_codes_are_classified(status: int, outcome: str | None) -> None:
    result = classify(status)
    assert (result.value if result else None) == outcome
