"""A worker process killed with SIGKILL mid-delivery loses nothing and duplicates nothing.

Real processes, a real HTTP receiver: orders are placed, worker processes deliver their
webhooks to a receiver that answers slowly, and the workers are killed with `kill -9`
while deliveries are in flight. Fresh workers take over once the dead ones' leases run out.
The receiver, de-duplicating on `Idempotency-Key` as a processor must, ends up with every
disclosure exactly once, each time with the same body. On PostgreSQL two workers share the
outbox (FOR UPDATE SKIP LOCKED); SQLite runs one.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from records import customer, take_order
from schutz.config import Settings
from schutz.db import make_engine, make_session_factory
from schutz.disclosures import service
from schutz.disclosures.endpoints import set_endpoint
from schutz.disclosures.models import Disclosure
from schutz.mail.models import OutboxMessage
from schutz.policy.engine import Engine
from schutz.vault.keys import Keyring

from .builders import NOW, Receiver, order_for, secret_file

pytestmark = pytest.mark.slow

ORDERS = 25
LEASE_SECONDS = 2
WORKER = f"""
import sys, time
from datetime import timedelta
from schutz.clock import utcnow
from schutz.config import Settings
from schutz.db import make_engine, make_session_factory
from schutz.disclosures.webhook import webhook_sender
from schutz.vault.keys import load_keyring
from schutz.mail.models import OutboxKind
from schutz.mail.service import deliver_due

settings = Settings()
sessions = make_session_factory(make_engine(settings.resolved_database_url))
print("ready", flush=True)
while True:
    report = deliver_due(
        sessions, settings, now=utcnow(), kind=OutboxKind.WEBHOOK, limit=5,
        send=webhook_sender(sessions, settings, load_keyring(settings)),
        lease=timedelta(seconds={LEASE_SECONDS}),
    )
    if not (report.sent or report.retrying or report.dead):
        time.sleep(0.05)
"""


def _start_workers(count: int, settings: Settings, log: Path) -> list[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        "SCHUTZ_DATA_DIR": str(settings.data_dir),
        "SCHUTZ_DATABASE_URL": settings.resolved_database_url,
    }
    workers = []
    for _ in range(count):
        with log.open("ab") as out:
            workers.append(
                subprocess.Popen(
                    [sys.executable, "-c", WORKER], env=env, stdout=out, stderr=subprocess.STDOUT
                )
            )
    return workers


def _wait_for(condition: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


def test_killed_workers_deliver_every_disclosure_exactly_once_after_idempotency(
    db_url: str,
    settings: Settings,
    session: Session,
    rules: Engine,
    keyring: Keyring,
    receiver: Receiver,
    tmp_path: Path,
) -> None:
    receiver.delay = 0.15
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
    expected: set[str] = set()
    for number in range(ORDERS):
        subject_id = take_order(
            session, rules, keyring, customer(email=f"customer{number}@example.org")
        ).subject_id
        result = service.place_order(
            session,
            rules,
            keyring,
            order_for(subject_id, f"GS-{number}"),
            role="shop",
            actor="t",
            now=NOW,
        )
        expected.update(d.id for d in result.disclosures)
    session.commit()
    count = 2 if db_url.startswith("postgresql") else 1
    log = tmp_path / "workers.log"

    first = _start_workers(count, settings, log)
    try:
        _wait_for(lambda: len(receiver.posts) >= 4, 60, "the first deliveries")
        for worker in first:
            os.kill(worker.pid, signal.SIGKILL)  # mid-delivery: the receiver is still answering
        for worker in first:
            worker.wait(timeout=10)
        killed_at = len(receiver.posts)
        assert killed_at < len(expected), "the workers finished before they could be killed"
        session.expire_all()
        in_flight = session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "sending")
        )
        session.rollback()
        assert in_flight, "no delivery was under way when the workers died"

        second = _start_workers(count, settings, log)
        try:
            _wait_for(lambda: set(receiver.delivered) >= expected, 120, "every delivery")
            engine = make_engine(settings.resolved_database_url)
            with make_session_factory(engine)() as check:

                def settled() -> bool:
                    check.expire_all()
                    pending = check.scalar(
                        select(func.count())
                        .select_from(OutboxMessage)
                        .where(OutboxMessage.status != "sent")
                    )
                    return pending == 0

                _wait_for(settled, 60, "the outbox to settle")
                statuses = set(check.scalars(select(Disclosure.status)))
            engine.dispose()
        finally:
            for worker in second:
                worker.kill()
                worker.wait(timeout=10)
    finally:
        for worker in first:
            if worker.poll() is None:
                worker.kill()

    assert set(receiver.delivered) == expected  # every disclosure, and nothing else
    bodies: dict[str, list[object]] = defaultdict(list)
    for post in receiver.posts:
        bodies[post["key"]].append(post["body"])
    assert all(len({str(b) for b in copies}) == 1 for copies in bodies.values())
    assert receiver.bad_signatures == 0
    assert statuses == {"delivered"}
    # Whatever reached the receiver twice did so only around the kill, and was absorbed by
    # the Idempotency-Key: the count of distinct keys equals the count of disclosures.
    assert len(receiver.by_key) == len(expected)
    assert sum(receiver.by_key.values()) - len(expected) <= count * 5
