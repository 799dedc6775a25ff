"""Benchmark: consents per second on PostgreSQL with 1 and with 8 concurrent writers (issue #16).

Usage: python bench/audit.py [RESULTS.md] [--seconds S] [--writers 1,8]

Each writer is a process with its own engine that records consents (`record_consent`, one
transaction each: read the subject's events, insert the event, append the MAC-chained audit
entry, commit) for S seconds from a common start. Every audit entry moves its lane's
`audit_head` row, whose lock the transaction holds until its commit is durable; writers
take a lane no one else holds (up to 16). A/B in the same run: the same consents with the
log held to one lane (every writer queues behind one head row, as before the lanes). The
goal of issue #16: 8 writers at least 4x one writer. Baseline, in the same run: the same
writers committing one plain INSERT each into a scratch table, which shows how far this
machine's PostgreSQL (and its 2 cores) scales commits with concurrency at all. After the
runs the log is verified. With RESULTS.md, the `## Audit chain` section there is replaced
(or appended).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import re
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import text

from schutz.audit.keys import AuditKey, bind_audit_key, load_audit_key, write_new_audit_key
from schutz.audit.verify import describe, verify
from schutz.config import BUNDLED_POLICY_DIR, Settings
from schutz.db import make_engine, make_session_factory, migrate, transaction

SECTION = "## Audit chain"
PG_URL = os.environ.get(
    "SCHUTZ_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _key(key_file: str) -> AuditKey:
    return load_audit_key(Settings(audit_key_file=Path(key_file)))


def _writer(url: str, key_file: str, mode: str, start: Any, seconds: float, out: Any) -> None:
    """Count transactions committed in `seconds` from the moment the parent sets `start`."""
    from schutz.clock import utcnow
    from schutz.consent.service import record_consent
    from schutz.policy.loader import load_policy_set

    policy = load_policy_set(BUNDLED_POLICY_DIR).get("2026-11")
    if mode == "one-lane":
        import schutz.audit.service as service

        service.LANES = 1
    engine = make_engine(url, pool_size=1)
    bind_audit_key(engine, _key(key_file))
    sessions = make_session_factory(engine)
    with engine.connect() as conn:  # connected before the clock starts
        conn.execute(text("SELECT 1"))
    me = uuid.uuid4().hex[:24]
    done = 0
    out.put("ready")
    while start.value == 0.0 or time.time() < start.value:
        time.sleep(0.001)
    stop = start.value + seconds
    while time.time() < stop:
        if mode != "plain":
            with transaction(sessions) as session:
                record_consent(
                    session, policy, subject_id=f"{me}{done:08d}", purpose="newsletter",
                    action="grant", channel="api", actor="apikey:bench", now=utcnow(),
                )  # fmt: skip
        else:
            with engine.begin() as conn:
                conn.execute(text("INSERT INTO bench_plain (v) VALUES (:v)"), {"v": me})
        done += 1
    engine.dispose()
    out.put(done)


APP = "schutz_bench_writer"
_LOCK_SAMPLE = text(
    "SELECT count(*) FILTER (WHERE wait_event_type = 'Lock'), count(*)"
    " FROM pg_stat_activity WHERE application_name = :app AND state <> 'idle'"
)


def run(url: str, key_file: str, mode: str, writers: int, seconds: float) -> tuple[float, float]:
    """Transactions per second of `writers` processes in `mode` ("consent", "one-lane",
    "plain"), and the share of samples (every 20 ms) in which a writer inside a statement or
    transaction was waiting for a lock held by another: the queue behind a head row, which
    CPU contention on a shared machine does not fake."""
    spawn = multiprocessing.get_context("spawn")
    out = spawn.Queue()
    start = spawn.Value("d", 0.0)  # set once every process has imported and connected
    writer_url = f"{url}&application_name={APP}"
    procs = [
        spawn.Process(target=_writer, args=(writer_url, key_file, mode, start, seconds, out))
        for _ in range(writers)
    ]
    for proc in procs:
        proc.start()
    for _ in procs:
        out.get(timeout=120)
    start.value = time.time() + 0.2
    waiting = busy = 0
    probe = make_engine(url, pool_size=1)
    with probe.connect() as conn:
        while time.time() < start.value + seconds:
            row = conn.execute(_LOCK_SAMPLE, {"app": APP}).one()
            conn.rollback()
            waiting, busy = waiting + row[0], busy + row[1]
            time.sleep(0.02)
    probe.dispose()
    total = sum(out.get(timeout=seconds + 120) for _ in procs)
    for proc in procs:
        proc.join()
    return total / seconds, waiting / busy if busy else 0.0


@contextmanager
def pg_schema() -> Iterator[str]:
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    url = f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    engine = make_engine(url)
    try:
        migrate(engine)
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE bench_plain (id BIGSERIAL PRIMARY KEY, v TEXT)"))
        engine.dispose()
        yield url
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def chain_state(url: str, key_file: str) -> str:
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        line = describe(verify(session, key=_key(key_file)))
    engine.dispose()
    return line


Row = tuple[int, tuple[float, float], tuple[float, float], tuple[float, float]]


def report(rows: list[Row], seconds: float, chain: str) -> str:
    one_consent, one_plain, one_lane = rows[0][1][0], rows[0][2][0], rows[0][3][0]
    lines = [
        SECTION,
        "",
        f"PostgreSQL, {os.cpu_count()} cores (shared with other jobs: compare the x columns),"
        f" {seconds:g} s per figure, one process per writer. Consents: one `record_consent`"
        " per transaction (read the subject's events, insert the event, append the"
        " MAC-chained audit entry, commit), writers on free lanes. One lane: the same, the"
        " log held to one head row (the design before lanes). Plain: one INSERT per"
        " transaction into a scratch table, no audit. Goal of issue #16: 8 consent writers"
        " at least 4x one. Lock waits: the share of samples (every 20 ms) in which a busy"
        " writer was waiting for a lock another transaction held.",
        "",
        "| writers | consents/s | x one writer | lock waits | one lane/s | x one writer"
        " | lock waits | plain commits/s | x one writer |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for writers, (consents, c_wait), (plain, _), (lane, l_wait) in rows:
        lines.append(
            f"| {writers} | {consents:,.0f} | {consents / one_consent:.2f} | {c_wait:.0%} |"
            f" {lane:,.0f} | {lane / one_lane:.2f} | {l_wait:.0%} |"
            f" {plain:,.0f} | {plain / one_plain:.2f} |"
        )
    lines += ["", f"After the runs `verify` says: {chain}."]
    return "\n".join(lines) + "\n"


def write_section(path: Path, section: str) -> None:
    """Replace the `## Audit chain` section of `path`, or append it."""
    existing = path.read_text(encoding="utf-8") if path.exists() else ""
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.MULTILINE | re.DOTALL)
    if pattern.search(existing):
        existing = pattern.sub(lambda _: section + "\n", existing, count=1)
    else:
        existing = (existing.rstrip("\n") + "\n\n" if existing.strip() else "") + section + "\n"
    path.write_text(existing, encoding="utf-8")


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("results", nargs="?", type=Path)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--writers", default="1,8")
    args = parser.parse_args(argv[1:])
    counts = [int(n) for n in args.writers.split(",")]
    rows = []
    with tempfile.TemporaryDirectory() as tmp, pg_schema() as url:
        key_file = str(Path(tmp) / "audit.key")
        write_new_audit_key(Path(key_file))
        for writers in counts:
            consents = run(url, key_file, "consent", writers, args.seconds)
            lane = run(url, key_file, "one-lane", writers, args.seconds)
            plain = run(url, key_file, "plain", writers, args.seconds)
            rows.append((writers, consents, plain, lane))
            print(
                f"{writers} writers: {consents[0]:.0f} consents/s ({consents[1]:.0%} lock"
                f" waits), {lane[0]:.0f} on one lane ({lane[1]:.0%}), {plain[0]:.0f} plain/s",
                file=sys.stderr,
            )
        chain = chain_state(url, key_file)
    section = report(rows, args.seconds, chain)
    if args.results is not None:
        write_section(args.results, section)
    print(section)


if __name__ == "__main__":
    main(sys.argv)
