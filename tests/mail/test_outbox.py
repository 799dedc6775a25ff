"""The outbox: enqueued in a transaction, delivered after commit, retried, never sent twice."""

from __future__ import annotations

import email
import threading
from datetime import UTC, datetime, timedelta
from email import policy as email_policy
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session, sessionmaker

from live import free_port
from schutz.config import Settings
from schutz.db import make_engine, make_session_factory, migrate, transaction
from schutz.errors import InvalidInput
from schutz.mail.models import OutboxKind, OutboxMessage, OutboxStatus
from schutz.mail.retention import forget_subject
from schutz.mail.service import (
    backoff,
    deliver_due,
    enqueue,
    enqueue_mail,
    purge_finished,
    seal_payload,
)
from schutz.mail.transport import Delivery, PermanentDeliveryError, describe_failure
from schutz.policy.engine import Engine as Rules
from schutz.vault import service as vault
from schutz.vault.keys import Keyring, load_keyring

from .conftest import SmtpServer

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
UNSUBSCRIBE = {
    "List-Unsubscribe": "<https://shop.example/newsletter/unsubscribe?token=abc>",
    "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
}


def queue_one(
    sessions: sessionmaker[Session],
    settings: Settings,
    key: str = "welcome:1",
    to: str = "anna@example.org",
    subject_id: str | None = None,
) -> str:
    with transaction(sessions) as s:
        row = enqueue_mail(
            s,
            to=to,
            subject="Bitte bestätigen",
            body="Hallo,\nbitte bestätigen Sie Ihre Anmeldung.\n",
            headers=UNSUBSCRIBE,
            idempotency_key=key,
            now=NOW,
            keyring=load_keyring(settings),
            subject_id=subject_id,
        )
        return row.id


def row(sessions: sessionmaker[Session], row_id: str) -> OutboxMessage:
    with sessions() as s:
        found = s.get(OutboxMessage, row_id)
        assert found is not None
        return found


def test_enqueueing_the_same_key_twice_keeps_one_row(session: Session, keyring: Keyring) -> None:
    first = enqueue_mail(
        session,
        to="a@example.org",
        subject="S",
        body="B",
        idempotency_key="k",
        now=NOW,
        keyring=keyring,
    )
    second = enqueue_mail(
        session,
        to="a@example.org",
        subject="S",
        body="B",
        idempotency_key="k",
        now=NOW,
        keyring=keyring,
    )
    assert first.id == second.id
    assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 1
    assert first.status == OutboxStatus.PENDING
    session.rollback()


@pytest.mark.parametrize(
    ("to", "subject", "headers"),
    [
        ("not an address", "S", {}),
        ("a@example.org", "Hi\r\nBcc: victim@example.org", {}),
        ("a@example.org", "S", {"X-Note": "one\nBcc: victim@example.org"}),
        ("a@example.org", "S", {"Bcc": "victim@example.org"}),
        ("a@example.org", "S", {"Bad Name": "x"}),
    ],
)
def test_bad_mail_is_refused_and_nothing_is_queued(
    session: Session, keyring: Keyring, to: str, subject: str, headers: dict[str, str]
) -> None:
    with pytest.raises(InvalidInput):
        enqueue_mail(
            session, to=to, subject=subject, body="B", headers=headers, idempotency_key="x",
            now=NOW, keyring=keyring,
        )  # fmt: skip
    assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_mail_of_a_rolled_back_transaction_never_leaves(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    with sessions() as s:
        enqueue_mail(
            s, to="a@example.org", subject="S", body="B", idempotency_key="gone", now=NOW,
            keyring=load_keyring(settings),
        )  # fmt: skip
        s.rollback()
    report = deliver_due(
        sessions, settings, keys=load_keyring(settings), now=NOW + timedelta(hours=1)
    )
    assert report.sent == []
    assert not settings.outbox_dir.exists() or not list(settings.outbox_dir.iterdir())


def test_without_smtp_mail_is_written_once_as_an_eml_file(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    row_id = queue_one(sessions, settings)
    report = deliver_due(sessions, settings, keys=load_keyring(settings), now=NOW)
    assert report.sent == [row_id]
    path = settings.outbox_dir / f"{row_id}.eml"
    assert path.stat().st_mode & 0o777 == 0o600
    message = email.message_from_bytes(path.read_bytes(), policy=email_policy.default)
    assert message["To"] == "anna@example.org"
    assert message["Subject"] == "Bitte bestätigen"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["List-Unsubscribe"] == UNSUBSCRIBE["List-Unsubscribe"]
    assert message["Message-ID"].startswith("<")
    assert "bestätigen Sie" in message.get_content()
    sent = row(sessions, row_id)
    assert (sent.status, sent.attempts, sent.sent_at) == (OutboxStatus.SENT, 1, NOW)
    assert (
        deliver_due(
            sessions, settings, keys=load_keyring(settings), now=NOW + timedelta(days=1)
        ).sent
        == []
    )
    assert [p.name for p in settings.outbox_dir.iterdir()] == [f"{row_id}.eml"]


def test_an_eml_already_written_is_not_written_again(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    row_id = queue_one(sessions, settings)
    settings.outbox_dir.mkdir(parents=True)
    existing = settings.outbox_dir / f"{row_id}.eml"
    existing.write_bytes(b"written by an earlier pass that died before marking it sent")
    assert deliver_due(sessions, settings, keys=load_keyring(settings), now=NOW).sent == [row_id]
    assert existing.read_bytes().startswith(b"written by an earlier pass")


def test_smtp_delivers_to_a_real_server_once(
    sessions: sessionmaker[Session], settings: Settings, smtp_server: SmtpServer
) -> None:
    settings.smtp_url = smtp_server.url
    row_id = queue_one(sessions, settings)
    assert deliver_due(sessions, settings, keys=load_keyring(settings), now=NOW).sent == [row_id]
    assert (
        deliver_due(
            sessions, settings, keys=load_keyring(settings), now=NOW + timedelta(hours=3)
        ).sent
        == []
    )
    [(recipients, raw)] = smtp_server.handler.received
    assert recipients == ["anna@example.org"]
    message = email.message_from_bytes(raw, policy=email_policy.default)
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert not Path(settings.outbox_dir).exists()


def test_a_refusing_server_is_retried_with_backoff(
    sessions: sessionmaker[Session], settings: Settings, smtp_server: SmtpServer
) -> None:
    settings.smtp_url = smtp_server.url
    smtp_server.handler.refusals += ["451 4.3.0 try again later", "421 4.7.0 busy"]
    row_id = queue_one(sessions, settings)

    assert deliver_due(sessions, settings, keys=load_keyring(settings), now=NOW).retrying == [
        row_id
    ]
    waiting = row(sessions, row_id)
    assert waiting.status == OutboxStatus.PENDING
    assert waiting.next_attempt_at == NOW + backoff(1) == NOW + timedelta(minutes=1)
    assert waiting.last_error == "SMTPDataError 451"

    assert (
        deliver_due(
            sessions, settings, keys=load_keyring(settings), now=NOW + timedelta(seconds=59)
        ).retrying
        == []
    )
    second = NOW + timedelta(minutes=1)
    assert deliver_due(sessions, settings, keys=load_keyring(settings), now=second).retrying == [
        row_id
    ]
    assert row(sessions, row_id).next_attempt_at == second + timedelta(minutes=2)

    third = second + timedelta(minutes=2)
    assert deliver_due(sessions, settings, keys=load_keyring(settings), now=third).sent == [row_id]
    done = row(sessions, row_id)
    assert (done.status, done.attempts, done.last_error) == (OutboxStatus.SENT, 3, None)
    assert len(smtp_server.handler.received) == 1


def test_a_permanent_refusal_makes_the_row_dead_at_once(
    sessions: sessionmaker[Session], settings: Settings, smtp_server: SmtpServer
) -> None:
    settings.smtp_url = smtp_server.url
    smtp_server.handler.refusals.append("554 5.7.1 rejected for anna@example.org")
    row_id = queue_one(sessions, settings)
    assert deliver_due(sessions, settings, keys=load_keyring(settings), now=NOW).dead == [row_id]
    dead = row(sessions, row_id)
    assert dead.status == OutboxStatus.DEAD
    assert dead.last_error == "SMTPDataError 554"
    assert "@" not in (dead.last_error or "")


def test_an_unreachable_server_makes_the_row_dead_after_max_attempts(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    settings.smtp_url = f"smtp://127.0.0.1:{free_port()}"
    row_id = queue_one(sessions, settings)
    when = NOW
    for attempt in (1, 2):
        assert deliver_due(
            sessions, settings, keys=load_keyring(settings), now=when, max_attempts=3
        ).retrying == [row_id]
        when += backoff(attempt)
    assert deliver_due(
        sessions, settings, keys=load_keyring(settings), now=when, max_attempts=3
    ).dead == [row_id]
    dead = row(sessions, row_id)
    assert (dead.status, dead.attempts) == (OutboxStatus.DEAD, 3)
    assert dead.last_error is not None
    assert dead.last_error.startswith("ConnectionRefusedError")
    assert (
        deliver_due(
            sessions, settings, keys=load_keyring(settings), now=when + timedelta(days=9)
        ).dead
        == []
    )


def test_backoff_doubles_and_is_capped() -> None:
    waits = [backoff(n) for n in range(1, 10)]
    assert waits[:4] == [timedelta(minutes=m) for m in (1, 2, 4, 8)]
    assert max(waits) == timedelta(hours=2)


def test_parallel_workers_never_send_a_row_twice(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    ids = {
        queue_one(sessions, settings, key=f"bulk:{n}", to=f"user{n}@example.org") for n in range(12)
    }
    seen: list[str] = []
    lock = threading.Lock()

    def slow_send(delivery: Delivery) -> None:
        with lock:
            seen.append(delivery.id)
        threading.Event().wait(0.01)

    def worker() -> None:
        while deliver_due(
            sessions, settings, keys=load_keyring(settings), now=NOW, limit=3, send=slow_send
        ).sent:
            pass

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(seen) == sorted(ids)


def test_a_row_whose_worker_died_is_taken_again_after_the_lease(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    row_id = queue_one(sessions, settings)

    def crash(delivery: Delivery) -> None:
        raise SystemExit  # stands for a worker killed mid-delivery

    with pytest.raises(SystemExit):
        deliver_due(sessions, settings, keys=load_keyring(settings), now=NOW, send=crash)
    assert row(sessions, row_id).status == OutboxStatus.SENDING
    assert (
        deliver_due(
            sessions, settings, keys=load_keyring(settings), now=NOW + timedelta(minutes=4)
        ).sent
        == []
    )
    assert deliver_due(
        sessions, settings, keys=load_keyring(settings), now=NOW + timedelta(minutes=5)
    ).sent == [row_id]
    assert row(sessions, row_id).attempts == 2


def test_other_kinds_need_their_own_sender(
    session: Session, sessions: sessionmaker[Session], settings: Settings
) -> None:
    with transaction(sessions) as s:
        hook = enqueue(
            s, kind=OutboxKind.WEBHOOK, payload={"url": "x"}, idempotency_key="h", now=NOW
        )
    with pytest.raises(InvalidInput):
        deliver_due(
            sessions, settings, keys=load_keyring(settings), now=NOW, kind=OutboxKind.WEBHOOK
        )
    got: list[dict[str, object]] = []
    report = deliver_due(
        sessions,
        settings,
        keys=load_keyring(settings),
        now=NOW,
        kind=OutboxKind.WEBHOOK,
        send=lambda d: got.append(dict(d.payload)),
    )
    assert report.sent == [hook.id]
    assert got == [{"url": "x"}]
    assert deliver_due(sessions, settings, keys=load_keyring(settings), now=NOW).sent == []


def test_failures_are_described_without_personal_data() -> None:
    assert describe_failure(PermanentDeliveryError("SMTPDataError 550")) == "SMTPDataError 550"
    assert describe_failure(ValueError("anna@example.org is bad")) == "ValueError"


def test_finished_mail_to_a_subject_is_purged_after_its_time(
    sessions: sessionmaker[Session], settings: Settings, rules: Rules
) -> None:
    with transaction(sessions) as s:
        subject_id = vault.intake(
            s, rules, load_keyring(settings), source="newsletter", purposes=["newsletter"],
            data={"email": "anna@example.org"}, asserted_by="shop", actor="t", now=NOW,
        ).subject_id  # fmt: skip
    queue_one(sessions, settings, subject_id=subject_id)
    queue_one(sessions, settings, key="later", subject_id=subject_id)
    [row_id] = deliver_due(sessions, settings, keys=load_keyring(settings), now=NOW, limit=1).sent
    with transaction(sessions) as s:
        assert purge_finished(s, older_than=timedelta(days=30), now=NOW + timedelta(days=29)) == 0
        assert purge_finished(s, older_than=timedelta(days=30), now=NOW + timedelta(days=31)) == 1
    with sessions() as s:
        assert s.get(OutboxMessage, row_id) is None
        assert s.scalar(select(func.count()).select_from(OutboxMessage)) == 1


def test_finished_mail_tied_to_no_subject_is_purged_at_once(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    ids = {queue_one(sessions, settings), queue_one(sessions, settings, key="later")}
    [sent] = deliver_due(sessions, settings, keys=load_keyring(settings), now=NOW, limit=1).sent
    with transaction(sessions) as s:
        assert purge_finished(s, older_than=timedelta(days=30), now=NOW) == 1
    with sessions() as s:
        assert [r.id for r in s.scalars(select(OutboxMessage))] == list(ids - {sent})


def test_a_finished_event_sealed_under_its_own_key_is_purged_at_once(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    """The `erasure.approved` event to the operator's systems carries the erased address under
    a key of its own (the subject's is shredded): no erasure reaches it later, so it goes as
    soon as it is delivered. A disclosure's row holds only its id and keeps its time."""
    keyring = load_keyring(settings)
    with transaction(sessions) as s:
        sealed = seal_payload(s, keyring, {"body": "erased@example.org"}, subject_id=None,
                              ref="own-key-row")  # fmt: skip
        event = enqueue(s, kind=OutboxKind.WEBHOOK, payload=sealed, idempotency_key="event",
                        now=NOW, row_id="own-key-row")  # fmt: skip
        plain = enqueue(s, kind=OutboxKind.WEBHOOK, payload={"disclosure_id": "d1"},
                        idempotency_key="disclosure", now=NOW)  # fmt: skip
        for row in (event, plain):
            row.status = OutboxStatus.SENT.value
    with transaction(sessions) as s:
        assert purge_finished(s, older_than=timedelta(days=7), now=NOW) == 1
    with sessions() as s:
        assert [r.id for r in s.scalars(select(OutboxMessage))] == [plain.id]


def test_an_erasure_finds_the_subjects_outbox_rows_by_index(pg_schema_url: str) -> None:
    """`forget_subject` runs inside every erasure: on PostgreSQL its delete must use the
    expression index, not scan the outbox (75 ms at 20,000 rows, found by bench/dsr.py)."""
    engine = make_engine(pg_schema_url)
    migrate(engine)
    statements: list[tuple[str, Any]] = []

    def keep(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_rest: Any) -> None:
        if statement.startswith("DELETE FROM outbox"):
            statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", keep)
    with make_session_factory(engine)() as session, session.begin():
        forget_subject(session, "a" * 32)
    event.remove(engine, "before_cursor_execute", keep)
    ((statement, parameters),) = statements
    with engine.begin() as conn:
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        plan = conn.exec_driver_sql(f"EXPLAIN {statement}", parameters).scalars().all()
    engine.dispose()
    assert any("ix_outbox_subject" in line for line in plan), plan
