"""The embedded worker wakes when a commit queues work for it, not at its next poll."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from schutz.config import Settings
from schutz.db import stop_waking, transaction, wake_on_work
from schutz.mail.service import enqueue_mail
from schutz.vault.keys import load_keyring

from .test_outbox import NOW, queue_one


@pytest.fixture
def wake() -> Iterator[threading.Event]:
    event = threading.Event()
    wake_on_work(event)
    yield event
    stop_waking(event)


def test_a_commit_that_queues_mail_wakes_the_worker(
    sessions: sessionmaker[Session], settings: Settings, wake: threading.Event
) -> None:
    assert not wake.is_set()
    queue_one(sessions, settings)
    assert wake.is_set()


def test_a_rolled_back_or_idle_transaction_wakes_nobody(
    sessions: sessionmaker[Session], settings: Settings, wake: threading.Event
) -> None:
    with transaction(sessions):
        pass  # a commit that queued nothing
    with sessions() as session:
        enqueue_mail(
            session, to="anna@example.org", subject="Hallo", body="Hallo\n",
            idempotency_key="rolled-back", now=NOW, keyring=load_keyring(settings),
        )  # fmt: skip
        session.rollback()  # the request failed after queueing
    assert not wake.is_set()
