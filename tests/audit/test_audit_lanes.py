"""Lanes: writers append side by side, and the log stays one verifiable record of every change.

Each state change (here a consent event) must have exactly one audit entry, written in the
same transaction: parallel writers, rolled-back transactions and a writer killed while it
holds its lane must leave no entry without its change and no change without its entry.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from schutz.audit.models import AuditEntry
from schutz.audit.service import record, verify
from schutz.audit.verify import Checkpoint, head_checkpoint
from schutz.clock import utcnow
from schutz.config import BUNDLED_POLICY_DIR
from schutz.consent.models import ConsentEvent
from schutz.consent.service import record_consent
from schutz.db import make_session_factory, transaction
from schutz.policy.loader import load_policy_set

POLICY = load_policy_set(BUNDLED_POLICY_DIR).get("2026-11")


def _consent(session: Session, subject: str) -> None:
    record_consent(
        session, POLICY, subject_id=subject, purpose="newsletter", action="grant",
        channel="api", actor="apikey:test", now=utcnow(),
    )  # fmt: skip


def _one_entry_per_event(session: Session) -> None:
    events = session.scalars(select(ConsentEvent.id)).all()
    entries = session.scalars(
        select(AuditEntry.details).where(AuditEntry.action == "consent.grant")
    ).all()
    audited = Counter(details["event_id"] for details in entries)
    assert sorted(audited) == sorted(events)
    assert set(audited.values()) == {1}


def test_parallel_writers_leave_one_entry_per_change_and_a_verified_log(
    engine: Engine, session: Session
) -> None:
    factory = make_session_factory(engine)
    writers, each = 8, 25

    def write(k: int) -> None:
        for i in range(each):
            with factory() as s:
                _consent(s, f"w{k}-{i}")
                if i % 5 == 4:  # an abandoned change takes its entry with it
                    s.rollback()
                else:
                    s.commit()

    with ThreadPoolExecutor(writers) as pool:
        list(pool.map(write, range(writers)))
    result = verify(session)
    assert result.ok, result
    assert result.count == writers * each * 4 // 5
    _one_entry_per_event(session)
    lanes = session.execute(
        select(AuditEntry.lane, func.count(), func.max(AuditEntry.lane_seq)).group_by(
            AuditEntry.lane
        )
    ).all()
    for _lane, count, last in lanes:  # every lane numbered 1..n without a gap
        assert count == last
    point = head_checkpoint(session)
    assert isinstance(point, Checkpoint)
    assert len(point.pairs()) == len(lanes)
    assert verify(session, checkpoints=[Checkpoint.parse(str(point))]).ok


def test_on_postgresql_eight_writers_hold_their_appends_open_at_once(
    engine: Engine, session: Session
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time; its log has one lane")
    factory = make_session_factory(engine)
    together = threading.Barrier(8, timeout=30)  # a shared head would deadlock here

    def write(k: int) -> int:
        with factory() as s:
            entry = record(s, actor="t", action="test.lane", details={"k": k}, now=utcnow())
            together.wait()
            s.commit()
            return entry.lane

    with ThreadPoolExecutor(8) as pool:
        lanes = list(pool.map(write, range(8)))
    assert len(set(lanes)) == 8
    result = verify(session)
    assert (result.ok, result.count) == (True, 8)


HOLD_AND_DIE = """
import os, sys
from schutz.clock import utcnow
from schutz.config import BUNDLED_POLICY_DIR
from schutz.consent.service import record_consent
from schutz.db import make_engine, make_session_factory
from schutz.policy.loader import load_policy_set

policy = load_policy_set(BUNDLED_POLICY_DIR).get("2026-11")
factory = make_session_factory(make_engine(sys.argv[1]))
session = factory()
record_consent(
    session, policy, subject_id="killed", purpose="newsletter", action="grant",
    channel="api", actor="apikey:test", now=utcnow(),
)
print("holding", flush=True)
sys.stdin.readline()
os._exit(1)
"""


@pytest.mark.slow
def test_a_writer_killed_inside_its_transaction_leaves_neither_change_nor_entry(
    db_url: str, engine: Engine, session: Session
) -> None:
    with transaction(make_session_factory(engine)) as s:
        _consent(s, "before")
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD_AND_DIE, db_url],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        holding = proc.stdout.readline().strip()
        proc.kill()  # its change and its entry were written, not committed
    finally:
        _, err = proc.communicate(timeout=60)
    assert holding == "holding", err[-2000:]
    with transaction(make_session_factory(engine)) as s:
        _consent(s, "after")  # the killed writer's lane (and SQLite's lock) is free again
    result = verify(session)
    assert (result.ok, result.count) == (True, 2)
    _one_entry_per_event(session)
    assert session.scalar(select(func.count()).select_from(ConsentEvent)) == 2
