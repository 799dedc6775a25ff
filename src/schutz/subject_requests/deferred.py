"""The worker's half of the public forms: handle sealed look-up jobs, each exactly once.

A job is taken by deleting its row in the transaction that handles it; the delete must touch
exactly one row, so two workers never handle the same job (on PostgreSQL the second waits
for the first and then finds nothing; SQLite has one writer). A job that cannot be handled
is dropped, not retried: its address must not linger, and the person can ask again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from schutz.config import Settings
from schutz.db import transaction
from schutz.policy.loader import load_policy_set
from schutz.policy.schema import Policy
from schutz.subject_requests import account, lookups, service
from schutz.subject_requests.models import PendingLookup
from schutz.vault.keys import Keyring, load_keyring

log = logging.getLogger("schutz.lookups")

Handler = Callable[[Session, Policy, Keyring, Mapping[str, Any]], bool]


def _handlers(now: datetime) -> dict[str, Handler]:
    return {
        lookups.ACCOUNT_LINK: lambda s, p, k, j: account.send_link(s, p, k, j, now=now),
        lookups.REQUEST: lambda s, p, k, j: service.match_request(s, p, k, j, now=now),
    }


def handle_job(
    session: Session, policy: Policy, keyring: Keyring, job_id: str, *, now: datetime
) -> bool:
    """Take job `job_id` (delete its row, which must touch exactly one row) and handle it in
    the caller's transaction; False if another worker took it first. Flushes, no commit."""
    row = session.get(PendingLookup, job_id)
    if row is None:
        return False
    job = lookups.open_job(keyring, row)
    taken = session.execute(
        delete(PendingLookup)
        .where(PendingLookup.id == job_id)
        .execution_options(synchronize_session=False)
    )
    session.expunge(row)
    if getattr(taken, "rowcount", 0) != 1:  # another worker has it
        return False
    handler = _handlers(now).get(job.kind)
    if handler is not None:
        handler(session, policy, keyring, job.data)
    session.flush()
    return True


def pending_ids(session: Session, limit: int = 100) -> list[str]:
    return list(
        session.scalars(select(PendingLookup.id).order_by(PendingLookup.created_at).limit(limit))
    )


def handle_pending(
    factory: sessionmaker[Session], settings: Settings, *, now: datetime, limit: int = 100
) -> int:
    """Handle up to `limit` queued look-ups, oldest first, each in its own transaction;
    return how many were handled."""
    with factory() as session:
        ids = pending_ids(session, limit)
    if not ids:
        return 0
    keyring = load_keyring(settings)
    policy = load_policy_set(settings.policy).in_force(now.date())
    done = 0
    for job_id in ids:
        try:
            with transaction(factory) as session:
                done += handle_job(session, policy, keyring, job_id, now=now)
        except Exception as exc:
            # One bad job must not stop the others; the log names no person. The job is
            # dropped: its address must not linger, and the person can ask again.
            log.error("look-up %s failed: %s", job_id, type(exc).__name__)
            with transaction(factory) as session:
                session.execute(delete(PendingLookup).where(PendingLookup.id == job_id))
    return done
