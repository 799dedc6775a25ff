"""The embedded worker wakes when a commit queues work for it, not at its next poll."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from schutz.config import Settings
from schutz.db import stop_waking, transaction, wake_on_work
from schutz.mail.service import enqueue_mail
from schutz.vault.keys import load_keyring
from schutz.wakeup import CHANNEL

from .test_outbox import NOW, queue_one, row


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


# A worker in a process of its own that polls once an hour: only a notification can make it
# deliver while the test waits.
OTHER_WORKER = """
import os, sys, threading
from schutz.config import Settings
from schutz.db import make_engine, make_session_factory
from schutz.worker import run_forever

settings = Settings(data_dir=sys.argv[1], database_url=sys.argv[2])
sessions = make_session_factory(make_engine(settings.resolved_database_url))
threading.Thread(target=lambda: (sys.stdin.readline(), os._exit(0)), daemon=True).start()
run_forever(sessions, settings, stop=threading.Event(), interval=3600)
"""


@pytest.mark.slow
def test_on_postgresql_a_commit_wakes_a_worker_in_another_process(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    if settings.resolved_database_url.startswith("sqlite"):
        pytest.skip("SQLite has no notification channel; its worker runs inside serve")
    load_keyring(settings)  # the worker unseals with the same keys
    worker = subprocess.Popen(
        [
            sys.executable,
            "-c",
            OTHER_WORKER,
            str(settings.data_dir),
            settings.resolved_database_url,
        ],
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for(lambda: _listening(sessions), worker)
        row_id = queue_one(sessions, settings)
        _wait_for(lambda: row(sessions, row_id).status == "sent", worker)
    finally:
        _, err = worker.communicate("stop\n", timeout=60)
    assert worker.returncode == 0, err[-2000:]


def _listening(sessions: sessionmaker[Session]) -> bool:
    with sessions() as session:
        listeners = session.scalar(
            text("SELECT count(*) FROM pg_stat_activity WHERE query = :q"),
            {"q": f"LISTEN {CHANNEL}"},
        )
    return bool(listeners)


def _wait_for(done: Callable[[], bool], worker: subprocess.Popen[str]) -> None:
    """Until `done()`; fails if the worker dies or a minute passes (a stuck wake-up: the
    worker would otherwise sleep for its hour)."""
    deadline = time.monotonic() + 60
    while not done():
        assert worker.poll() is None, "the worker exited"
        assert time.monotonic() < deadline, "the worker was not woken"
        time.sleep(0.05)
