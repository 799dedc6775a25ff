"""Two processes appending at once must never fork the chain, on SQLite or PostgreSQL."""

from __future__ import annotations

import itertools
import subprocess
import sys
import time

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from schutz.audit.models import AuditEntry
from schutz.audit.service import verify

PER_PROCESS = 200

# Each process appends its entries one transaction at a time, as web workers would; some
# transactions read before they write, the pattern that forks a naive chain.
WRITER = """
import sys, time
from schutz.audit.service import record
from schutz.clock import utcnow
from schutz.db import make_engine, make_session_factory, transaction
from sqlalchemy import text

url, name, n, start = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
engine = make_engine(url)
factory = make_session_factory(engine)
while time.time() < start:
    time.sleep(0.001)
for i in range(n):
    with transaction(factory) as session:
        session.execute(text("SELECT count(*) FROM audit_entry")).scalar()
        record(session, actor=name, action="test.concurrent", details={"i": i}, now=utcnow())
engine.dispose()
"""


@pytest.mark.slow
def test_two_processes_appending_keep_one_chain(db_url: str, session: Session) -> None:
    start = f"{time.time() + 1.5:.3f}"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, db_url, f"proc-{k}", str(PER_PROCESS), start],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for k in (1, 2)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err[-2000:]
    result = verify(session)
    assert result.ok, result
    assert result.count == 2 * PER_PROCESS
    actors = session.scalars(select(AuditEntry.actor).order_by(AuditEntry.seq)).all()
    switches = sum(a != b for a, b in itertools.pairwise(actors))
    print(f"the writers took turns {switches} times")  # noqa: T201 - shown with -s
