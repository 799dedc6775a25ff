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
from schutz.mail.models import OutboxMessage, OutboxStatus
from schutz.mail.service import ERASED, deliver_due, enqueue_mail, open_payload
from schutz.policy.engine import compile_policy
from schutz.policy.loader import load_policy_set
from schutz.vault import service as vault
from schutz.vault.keys import load_keyring
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

    report = deliver_due(sessions, settings, now=NOW)
    assert report.sent == [row_id]
    eml = (settings.data_dir / "outbox" / f"{row_id}.eml").read_text()
    assert f"To: {email}" in eml


def test_a_queued_mail_of_an_erased_subject_is_never_sent(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    email = "erased-reader@example.org"
    subject_id = _subject(sessions, settings, email)
    row_id = _queue(sessions, settings, subject_id, email)
    with transaction(sessions) as s:
        vault.erase_subject(s, RULES.policy, subject_id, actor="dpo", now=NOW)

    report = deliver_due(sessions, settings, now=NOW)
    assert (report.sent, report.dead) == ([], [row_id])
    row = _row(sessions, row_id)
    assert (row.status, row.last_error) == (OutboxStatus.DEAD.value, ERASED)
    assert not (settings.data_dir / "outbox" / f"{row_id}.eml").exists()
    assert email.encode() not in _stored_bytes(settings, sessions)
    assert deliver_due(sessions, settings, now=NOW).dead == []  # never tried again
