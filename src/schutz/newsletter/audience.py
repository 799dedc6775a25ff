"""Who may be written to for a marketing purpose right now, streamed with their address.

newsletter: confirmed and not withdrawn (double opt-in, UWG §7). direct_marketing and
market_research: everyone whose address was collected for the purpose, except objectors
(Art. 21(2)-(3) GDPR). On top of that every batch of addresses goes through the vault's
batched, purpose-checked read, so whatever the decision engine says (restriction, erasure,
roles) applies to each subject too, and each batch is one audit entry naming whom it read.
Candidates come in keyset pages (short queries, no cursor left open between commits):
memory stays flat at any size.

`parallel_audience_batches` spreads the reads over worker processes: this process pages
the ledger and hands each page of ids to a worker, which reads and audits it in a
transaction of its own (the decision, unwrap and decryption are the CPU work); at most
twice as many pages as workers are in flight, so memory stays flat there too, and batches
come back in order.
"""

from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from itertools import islice

from sqlalchemy.orm import Session, sessionmaker

from schutz.audit.keys import AuditKey, bind_audit_key
from schutz.consent.service import (
    ConsentState,
    needs_confirmation,
    state_batches_for_purpose,
    states_for_subjects,
)
from schutz.db import make_engine, make_session_factory, transaction
from schutz.errors import Denied, InvalidInput
from schutz.policy.engine import Engine
from schutz.vault import service as vault
from schutz.vault.keys import Keyring

AUDIENCE_PURPOSES = ("newsletter", "direct_marketing", "market_research")
BATCH = 1000


def _candidate_batches(
    session: Session, rules: Engine, purpose: str, batch: int
) -> Iterator[list[str]]:
    """Pages of ids of the subjects the purpose may reach, by id.

    Consent purposes: those who consented (confirmed, where double opt-in applies). Others:
    holders of an address collected for the purpose, less objectors. This only picks the
    candidates; the vault's batched read decides each one from the ledger itself.
    """
    if rules.policy.purposes[purpose].requires_consent:
        unconfirmed_counts = not needs_confirmation(rules.policy, purpose)
        for said in state_batches_for_purpose(session, rules.policy, purpose, batch_size=batch):
            yield [
                subject_id
                for subject_id, state in said
                if state is ConsentState.CONFIRMED
                or (state is ConsentState.GRANTED and unconfirmed_counts)
            ]
        return
    holders = vault.subjects_for_purpose(session, purpose, field="email", batch_size=batch)
    while ids := list(islice(holders, batch)):
        ledger = states_for_subjects(session, rules.policy, purpose, ids)
        yield [i for i in ids if ledger.get(i) is not ConsentState.OBJECTED]


def check_audience(rules: Engine, purpose: str, role: str) -> None:
    """Raise `InvalidInput` unless `purpose` has an audience, `Denied` unless `role` may use it."""
    if purpose not in rules.policy.purposes:
        raise InvalidInput(f"{purpose!r} is not a purpose of the privacy policy")
    if purpose not in AUDIENCE_PURPOSES:
        allowed = ", ".join(AUDIENCE_PURPOSES)
        raise InvalidInput(f"{purpose!r} has no audience; audiences exist for: {allowed}")
    if rules.check(role, purpose).rule == "role":
        raise Denied(f"role {role!r} may not process data for {purpose!r}", reason="role")


def audience_batches(
    session: Session,
    rules: Engine,
    keyring: Keyring,
    purpose: str,
    *,
    actor: str,
    role: str,
    now: datetime,
    batch_size: int = BATCH,
) -> Iterator[list[tuple[str, str]]]:
    """`audience`, a batch at a time, so that the caller can commit between batches.

    Each batch is read with `vault.read_emails_for_purpose`: one decision per subject, one
    key unwrap per subject, one audit entry per batch. Every page of candidates is its own
    query, so committing `session` between batches is safe.
    """
    check_audience(rules, purpose, role)
    for ids in _candidate_batches(session, rules, purpose, batch_size):
        if ids:
            yield vault.read_emails_for_purpose(
                session, rules, keyring, ids, purpose, role=role, actor=actor, now=now
            )


def audience(
    session: Session,
    rules: Engine,
    keyring: Keyring,
    purpose: str,
    *,
    actor: str,
    role: str,
    now: datetime,
    batch_size: int = BATCH,
) -> Iterator[tuple[str, str]]:
    """Stream `(subject_id, email)` of everyone `role` may write to for `purpose` now.

    Raises `InvalidInput` for a purpose that is not a marketing audience and `Denied` for a
    role that may not use it. Each address is a purpose-checked read, audited per batch; a
    subject the engine refuses (restricted, erased, objected in the meantime) is left out.
    The caller commits.
    """
    for batch in audience_batches(
        session, rules, keyring, purpose, actor=actor, role=role, now=now, batch_size=batch_size
    ):
        yield from batch


@dataclass(frozen=True)
class _Reader:
    """What a worker process needs to read batches: sent once, when it starts."""

    database_url: str
    rules: Engine
    keyring: Keyring
    audit_key: AuditKey
    purpose: str
    role: str
    actor: str
    now: datetime


_worker: tuple[_Reader, sessionmaker[Session]] | None = None


def _start_worker(reader: _Reader) -> None:
    global _worker
    engine = make_engine(reader.database_url, pool_size=1, max_overflow=0)
    bind_audit_key(engine, reader.audit_key)
    _worker = (reader, make_session_factory(engine))


def _read_batch(ids: list[str]) -> list[tuple[str, str]]:
    if _worker is None:
        raise RuntimeError("audience worker used before it started")
    reader, sessions = _worker
    with transaction(sessions) as session:  # the batch's audit entry commits with it
        return vault.read_emails_for_purpose(
            session, reader.rules, reader.keyring, ids, reader.purpose,
            role=reader.role, actor=reader.actor, now=reader.now,
        )  # fmt: skip


def parallel_audience_batches(
    session: Session,
    rules: Engine,
    keyring: Keyring,
    purpose: str,
    *,
    database_url: str,
    audit_key: AuditKey,
    actor: str,
    role: str,
    now: datetime,
    workers: int,
    batch_size: int = BATCH,
) -> Iterator[list[tuple[str, str]]]:
    """`audience_batches` with the reads spread over `workers` processes, in the same order.

    `session` pages the candidates; each batch is read, decided and audited by a worker in
    its own committed transaction before it is yielded. The workers get the keyring and
    the audit key through a pipe when they start (never through a file or the environment).
    """
    check_audience(rules, purpose, role)
    reader = _Reader(database_url, rules, keyring, audit_key, purpose, role, actor, now)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=_start_worker, initargs=(reader,)
    ) as pool:
        pending: deque[Future[list[tuple[str, str]]]] = deque()
        for ids in _candidate_batches(session, rules, purpose, batch_size):
            if ids:
                pending.append(pool.submit(_read_batch, ids))
            while len(pending) >= 2 * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
