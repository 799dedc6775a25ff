"""Benchmark: streaming a newsletter audience, beside the ledger stream and a bare decrypt.

Usage: python bench/audience.py [RESULTS.md] [--subjects N]

Fills a fresh SQLite database with N confirmed subscribers (an encrypted e-mail field and a
grant + confirm in the ledger each), then times, in one run:
- the audience as `GET /api/v1/audiences/newsletter` produces it (`audience_batches`: keyset
  pages of the ledger, `vault.read_emails_for_purpose` per batch with one audit entry each,
  a commit and the NDJSON lines per batch);
- the former path, one purpose-checked, audited `vault.read_subject` per subject with a
  commit per 1,000, on a sample of 2,000 subjects (the baseline);
- the ledger's keyset pages alone (`consent.state_batches_for_purpose`) and the older ORM
  stream (`consent.states_for_purpose`);
- unwrap + decrypt of each e-mail in one joined SELECT, with no decision and no audit.
Peak RSS is reported to show memory stays flat. With RESULTS.md, its `## Audiences` section
is replaced (or appended). The issue aims at 1,000,000 subjects in under 10 s.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select

from schutz.audit.keys import bind_audit_key, load_audit_key
from schutz.config import BUNDLED_POLICY_DIR, Settings
from schutz.consent.models import ConsentEvent
from schutz.consent.service import state_batches_for_purpose, states_for_purpose
from schutz.db import make_engine, make_session_factory, migrate
from schutz.newsletter.audience import audience_batches, parallel_audience_batches
from schutz.policy.engine import Engine as Rules
from schutz.policy.engine import compile_policy
from schutz.policy.loader import load_policy_set
from schutz.vault import service as vault
from schutz.vault.crypto import FieldCipher, new_data_key
from schutz.vault.keys import Keyring, load_keyring
from schutz.vault.models import PersonalField, Subject

SECTION = "## Audiences"
NOW = datetime(2026, 11, 15, 10, 0, tzinfo=UTC)
CHUNK = 2_000
TARGET_SUBJECTS, TARGET_SECONDS = 1_000_000, 10.0
SAMPLE = 2_000  # subjects read one by one for the former path


def populate(sessions: Any, rules: Rules, keyring: Keyring, n: int) -> None:
    """N confirmed subscribers, inserted in bulk (no audit): the table the timings run on."""
    category = rules.policy.fields["email"]
    for first in range(0, n, CHUNK):
        subjects, fields, events = [], [], []
        for i in range(first, min(first + CHUNK, n)):
            sid = uuid.uuid4().hex
            key = new_data_key()
            key_id, wrapped = keyring.wrap(key, subject_id=sid)
            blob = FieldCipher(key, subject_id=sid, key_version=1).encrypt(
                "email", category, f"reader{i}@example.org"
            )
            subjects.append({"id": sid, "created_at": NOW, "wrapped_key": wrapped,
                             "master_key_id": key_id, "key_version": 1,
                             "email_index": uuid.uuid4().bytes * 2})  # fmt: skip
            fields.append({"subject_id": sid, "field": "email", "category": category,
                           "key_version": 1, "ciphertext": blob, "source": "newsletter",
                           "purposes": ["newsletter"], "policy_version": rules.policy.version,
                           "created_at": NOW, "updated_at": NOW})  # fmt: skip
            for action in ("grant", "confirm"):
                events.append({"subject_id": sid, "purpose": "newsletter", "action": action,
                               "channel": "web", "policy_version": rules.policy.version,
                               "recorded_by": "bench", "at": NOW})  # fmt: skip
        with sessions() as session, session.begin():
            session.execute(insert(Subject), subjects)
            session.execute(insert(PersonalField), fields)
            session.execute(insert(ConsentEvent), events)


def time_audience(sessions: Any, rules: Rules, keyring: Keyring) -> tuple[int, float]:
    """The route's loop: a batch, its commit, its NDJSON lines."""
    start = time.perf_counter()
    count = 0
    with sessions() as session:
        for batch in audience_batches(
            session, rules, keyring, "newsletter", actor="bench", role="marketing", now=NOW
        ):
            session.commit()
            lines = "".join(json.dumps({"subject_id": s, "email": e}) + "\n" for s, e in batch)
            count += lines.count("\n")
    return count, time.perf_counter() - start


def time_parallel_audience(
    sessions: Any, rules: Rules, keyring: Keyring, url: str, workers: int
) -> tuple[int, float, float]:
    """The same stream with the reads spread over `workers` processes (their start included).

    Also returns the peak RSS of the workers (MB): their memory must stay flat too."""
    from schutz.audit.keys import audit_key_for

    start = time.perf_counter()
    count = 0
    with sessions() as session:
        key = audit_key_for(session)
        for batch in parallel_audience_batches(
            session, rules, keyring, "newsletter", database_url=url, audit_key=key,
            actor="bench", role="marketing", now=NOW, workers=workers,
        ):  # fmt: skip
            lines = "".join(json.dumps({"subject_id": s, "email": e}) + "\n" for s, e in batch)
            count += lines.count("\n")
    seconds = time.perf_counter() - start
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return count, seconds, children


def time_per_subject_reads(sessions: Any, rules: Rules, keyring: Keyring) -> tuple[int, float]:
    """The former audience: one audited `read_subject` per subject, a commit per 1,000."""
    with sessions() as session:
        ids = list(session.scalars(select(Subject.id).order_by(Subject.id).limit(SAMPLE)))
        start = time.perf_counter()
        for i, subject_id in enumerate(ids, 1):
            vault.read_subject(
                session, rules, keyring, subject_id, "newsletter", actor="bench",
                role="marketing", now=NOW,
            )  # fmt: skip
            if i % 1000 == 0:
                session.commit()
        session.commit()
    return len(ids), time.perf_counter() - start


def time_ledger(sessions: Any, rules: Rules) -> tuple[int, float]:
    start = time.perf_counter()
    with sessions() as session:
        pages = state_batches_for_purpose(session, rules.policy, "newsletter", batch_size=1000)
        count = sum(len(page) for page in pages)
    return count, time.perf_counter() - start


def time_ledger_orm(sessions: Any, rules: Rules) -> tuple[int, float]:
    start = time.perf_counter()
    with sessions() as session:
        count = sum(1 for _ in states_for_purpose(session, rules.policy, "newsletter"))
    return count, time.perf_counter() - start


def time_decrypt(sessions: Any, rules: Rules, keyring: Keyring) -> tuple[int, float]:
    category = rules.policy.fields["email"]
    start = time.perf_counter()
    count = 0
    with sessions() as session:
        rows = session.execute(
            select(Subject.id, Subject.wrapped_key, Subject.master_key_id, PersonalField.ciphertext)
            .join(PersonalField, PersonalField.subject_id == Subject.id)
            .where(PersonalField.field == "email")
            .execution_options(yield_per=5000)
        )
        for sid, wrapped, key_id, blob in rows:
            key = keyring.unwrap(wrapped, subject_id=sid, key_id=key_id)
            FieldCipher(key, subject_id=sid, key_version=1).decrypt("email", category, blob, 1)
            count += 1
    return count, time.perf_counter() - start


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def report(n: int) -> str:
    rules = compile_policy(load_policy_set(BUNDLED_POLICY_DIR).latest)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), database_url=f"sqlite:///{tmp}/bench.db")
        engine = make_engine(settings.resolved_database_url)
        migrate(engine)
        bind_audit_key(engine, load_audit_key(settings))  # as create_app and the CLI do
        sessions = make_session_factory(engine)
        keyring = load_keyring(settings)
        t0 = time.perf_counter()
        populate(sessions, rules, keyring, n)
        fill = time.perf_counter() - t0
        rss_before = peak_rss_mb()
        streamed, seconds = time_audience(sessions, rules, keyring)
        rss_after = peak_rss_mb()
        workers = max(2, os.cpu_count() or 2)
        par_n, par_s, par_rss = time_parallel_audience(
            sessions, rules, keyring, settings.resolved_database_url, workers
        )
        old_n, old_s = time_per_subject_reads(sessions, rules, keyring)
        ledger_n, ledger_s = time_ledger(sessions, rules)
        orm_n, orm_s = time_ledger_orm(sessions, rules)
        plain_n, plain_s = time_decrypt(sessions, rules, keyring)
        engine.dispose()
    rate = streamed / seconds
    par_rate = par_n / par_s
    old_rate, ledger_rate = old_n / old_s, ledger_n / ledger_s
    orm_rate, plain_rate = orm_n / orm_s, plain_n / plain_s
    projected = TARGET_SUBJECTS / rate
    verdict = "met" if projected < TARGET_SECONDS else "missed"
    return "\n".join([
        SECTION,
        "",
        f"SQLite, {n:,} confirmed subscribers (filled in {fill:.0f} s), Python"
        f" {platform.python_version()} on {platform.machine()}, {os.cpu_count()} cores."
        f" `python bench/audience.py RESULTS.md --subjects {n}`.",
        "",
        "| stream | subjects/s | vs. former path |",
        "|---|---:|---:|",
        f"| newsletter audience: ledger pages + batched vault read, one audit entry per"
        f" 1,000, commit + NDJSON per batch | {rate:,.0f} | {rate / old_rate:.1f}x |",
        f"| the same over {workers} worker processes (`parallel_audience_batches`; pool"
        f" start included) | {par_rate:,.0f} | {par_rate / old_rate:.1f}x |",
        f"| former path: audited `read_subject` per subject ({old_n:,} sampled) |"
        f" {old_rate:,.0f} | 1.0x |",
        f"| ledger keyset pages alone (`state_batches_for_purpose`) | {ledger_rate:,.0f} |"
        f" {ledger_rate / old_rate:.1f}x |",
        f"| ledger ORM stream alone (`states_for_purpose`) | {orm_rate:,.0f} |"
        f" {orm_rate / old_rate:.1f}x |",
        f"| unwrap + decrypt per subject, one SELECT, no decision, no audit | {plain_rate:,.0f}"
        f" | {plain_rate / old_rate:.1f}x |",
        "",
        f"- Streamed {streamed:,} of {n:,} in {seconds:.1f} s; peak RSS {rss_before:.0f} MB"
        f" before, {rss_after:.0f} MB after (keyset pages of 1,000: memory stays flat).",
        f"- Over {workers} processes: {par_n:,} in {par_s:.1f} s, workers' peak RSS"
        f" {par_rss:.0f} MB; extrapolated to {TARGET_SUBJECTS:,}:"
        f" {TARGET_SUBJECTS / par_rate:,.1f} s. The cores are shared with the paging process"
        " (and here with other jobs): on this machine processes cannot add cores that are"
        " not there; the split pays where there are more.",
        f"- Extrapolated to {TARGET_SUBJECTS:,}: about {projected:,.1f} s (former path:"
        f" {TARGET_SUBJECTS / old_rate:,.0f} s); the target is {TARGET_SECONDS:.0f} s,"
        f" {verdict}.",
        "",
    ])  # fmt: skip


def write_section(path: Path, section: str) -> None:
    """Replace the `## Audiences` section of `path`, or append it."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.MULTILINE | re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: section, text, count=1)
    else:
        text = (text.rstrip("\n") + "\n\n" if text else "") + section
    path.write_text(text, encoding="utf-8")


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="?", type=Path)
    parser.add_argument("--subjects", type=int, default=50_000)
    args = parser.parse_args(argv[1:])
    section = report(args.subjects)
    if args.results:
        write_section(args.results, section)
    print(section)


if __name__ == "__main__":
    main(sys.argv)
