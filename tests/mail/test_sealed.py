"""Mail to a subject is sealed under the subject's key: no address in the database, and an
erasure before delivery means the mail never leaves."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import make_url, select
from sqlalchemy.orm import Session, sessionmaker

from schutz.config import BUNDLED_POLICY_DIR, Settings
from schutz.db import transaction
from schutz.mail.models import OutboxKind, OutboxMessage
from schutz.mail.service import deliver_due, enqueue_mail, open_payload
from schutz.policy.engine import compile_policy
from schutz.policy.loader import load_policy_set
from schutz.vault import service as vault
from schutz.vault.keys import load_keyring
from schutz.worker import run_once
from sqlite_files import sqlite_bytes

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
RULES = compile_policy(load_policy_set(BUNDLED_POLICY_DIR).latest)


def _subject(sessions: sessionmaker[Session], settings: Settings, email: str) -> str:
    with transaction(sessions) as s:
        return vault.intake(
            s, RULES, load_keyring(settings), source="newsletter", purposes=["newsletter"],
            data={"email": email}, asserted_by="shop", actor="t", now=NOW,
        ).subject_id  # fmt: skip


def _queue(sessions: sessionmaker[Session], settings: Settings, subject_id: str, email: str) -> str:
    with transaction(sessions) as s:
        return enqueue_mail(
            s, to=email, subject="Bitte bestätigen", body=f"Hallo {email}\n",
            idempotency_key=f"t:{subject_id}", now=NOW,
            subject_id=subject_id, keyring=load_keyring(settings),
        ).id  # fmt: skip


def _row(sessions: sessionmaker[Session], row_id: str) -> OutboxMessage:
    with sessions() as s:
        found = s.get(OutboxMessage, row_id)
        assert found is not None
        return found


def _stored_bytes(settings: Settings, sessions: sessionmaker[Session]) -> bytes:
    """Everything the database keeps: the SQLite files, or every outbox payload as text."""
    url = make_url(settings.resolved_database_url)
    if url.get_backend_name() == "sqlite" and url.database:
        return sqlite_bytes(Path(url.database))
    with sessions() as s:
        payloads = s.scalars(select(OutboxMessage.payload)).all()
    return json.dumps(payloads).encode()


def test_a_sealed_mail_keeps_no_address_and_is_opened_for_delivery(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    email = "sealed-reader@example.org"
    subject_id = _subject(sessions, settings, email)
    row_id = _queue(sessions, settings, subject_id, email)
    stored = _row(sessions, row_id).payload
    assert set(stored) == {"sealed", "subject_id"}
    assert email.encode() not in _stored_bytes(settings, sessions)
    with sessions() as s:
        assert open_payload(s, load_keyring(settings), stored)["to"] == email

    report = deliver_due(sessions, settings, keys=load_keyring(settings), now=NOW)
    assert report.sent == [row_id]
    eml = (settings.data_dir / "outbox" / f"{row_id}.eml").read_text()
    assert f"To: {email}" in eml


def test_an_erasure_deletes_the_subjects_queued_mail_and_it_never_leaves(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    email = "erased-reader@example.org"
    subject_id = _subject(sessions, settings, email)
    row_id = _queue(sessions, settings, subject_id, email)
    with transaction(sessions) as s:
        vault.erase_subject(s, RULES.policy, subject_id, actor="dpo", now=NOW)

    with sessions() as s:
        assert s.get(OutboxMessage, row_id) is None
    report = deliver_due(sessions, settings, keys=load_keyring(settings), now=NOW)
    assert (report.sent, report.dead) == ([], [])
    assert not (settings.data_dir / "outbox" / f"{row_id}.eml").exists()
    assert email.encode() not in _stored_bytes(settings, sessions)


def test_an_erasure_removes_the_subjects_written_mail_files_with_the_next_pass(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    email = "written-reader@example.org"
    subject_id = _subject(sessions, settings, email)
    mine = _queue(sessions, settings, subject_id, email)
    other_id = _subject(sessions, settings, "other-reader@example.org")
    theirs = _queue(sessions, settings, other_id, "other-reader@example.org")
    assert set(run_once(sessions, settings)[OutboxKind.EMAIL].sent) == {mine, theirs}
    with transaction(sessions) as s:
        vault.erase_subject(s, RULES.policy, subject_id, actor="dpo", now=NOW)

    run_once(sessions, settings)
    assert sorted(p.name for p in settings.outbox_dir.iterdir()) == [f"{theirs}.eml"]


def test_a_mail_to_no_subject_is_sealed_under_a_key_of_its_own(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    email = "stranger@example.org"
    with transaction(sessions) as s:
        row_id = enqueue_mail(
            s, to=email, subject="Bitte bestätigen", body=f"Hallo {email}\n",
            idempotency_key="t:stranger", now=NOW, keyring=load_keyring(settings),
        ).id  # fmt: skip
    stored = _row(sessions, row_id).payload
    assert set(stored) == {"sealed", "key", "key_id", "ref"}
    assert email.encode() not in _stored_bytes(settings, sessions)
    assert deliver_due(sessions, settings, keys=load_keyring(settings), now=NOW).sent == [row_id]
    assert f"To: {email}" in (settings.outbox_dir / f"{row_id}.eml").read_text()


def test_a_mail_sealed_for_one_row_does_not_open_as_another(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    with transaction(sessions) as s:
        first = enqueue_mail(
            s, to="a@example.org", subject="S", body="B", idempotency_key="t:a", now=NOW,
            keyring=load_keyring(settings),
        )  # fmt: skip
        second = enqueue_mail(
            s, to="b@example.org", subject="S", body="B", idempotency_key="t:b", now=NOW,
            keyring=load_keyring(settings),
        )  # fmt: skip
        second.payload = {**first.payload}
    report = deliver_due(sessions, settings, keys=load_keyring(settings), now=NOW)
    assert (report.sent, report.dead) == ([first.id], [second.id])
