"""The worker's half of the public forms: handle sealed look-up jobs, each exactly once.

A job is taken by deleting its row in the transaction that handles it; the delete must touch
exactly one row, so two workers never handle the same job (on PostgreSQL the second waits
for the first and then finds nothing; SQLite has one writer). A job that cannot be handled
is dropped, not retried: its address must not linger, and the person can ask again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from schutz.config import Settings
from schutz.consent.service import record_consent
from schutz.db import transaction
from schutz.errors import NotFound
from schutz.newsletter import service as newsletter
from schutz.policy.engine import Engine
from schutz.policy.loader import current_policy_set
from schutz.subject_requests import account, lookups, service
from schutz.subject_requests.models import PendingLookup
from schutz.systems import events as system_events
from schutz.vault import service as vault
from schutz.vault.keys import Keyring, load_keyring

log = logging.getLogger("schutz.lookups")


@dataclass(frozen=True)
class Tools:
    """What the handlers need besides the session: rules, keys and the link-signing secret."""

    rules: Engine
    keyring: Keyring
    secret: bytes | Sequence[bytes]


Handler = Callable[[Session, Tools, Mapping[str, Any], datetime], object]


def _account_link(session: Session, tools: Tools, job: Mapping[str, Any], now: datetime) -> bool:
    return account.send_link(session, tools.rules.policy, tools.keyring, job, now=now)


def _request(session: Session, tools: Tools, job: Mapping[str, Any], now: datetime) -> bool:
    return service.match_request(session, tools.rules.policy, tools.keyring, job, now=now)


def _newsletter(session: Session, tools: Tools, job: Mapping[str, Any], now: datetime) -> object:
    """The sign-up the newsletter form asked for, with the proof it collected then."""
    return newsletter.sign_up(
        session,
        tools.rules,
        tools.keyring,
        newsletter.Links(base_url=str(job["base_url"]), secret=tools.secret),
        email=str(job["email"]),
        wording=str(job["wording"]),
        wording_version=str(job["wording_version"]),
        form_url=str(job["form_url"]),
        ip=job.get("ip"),
        user_agent=job.get("user_agent"),
        lang=str(job["lang"]),
        actor=str(job["actor"]),
        now=now,
    )


def _objection(session: Session, tools: Tools, job: Mapping[str, Any], now: datetime) -> bool:
    """An objection sent through the contact form (C8, Art. 21 GDPR), recorded in the ledger
    once the address is matched to a subject; an unknown address has nothing to object to."""
    try:
        subject_id = vault.find_subject(
            session, tools.keyring, str(job["email"]), actor=str(job["actor"]), now=now
        )
    except NotFound:
        return False
    record_consent(
        session,
        tools.rules.policy,
        subject_id=subject_id,
        purpose=str(job["purpose"]),
        action="object",
        channel="web",
        evidence="contact-form",
        actor=str(job["actor"]),
        now=now,
    )
    system_events.consent_changed(
        session, tools.rules.policy, tools.keyring, subject_id, purpose=str(job["purpose"]),
        action="object", actor=str(job["actor"]), now=now,
    )  # fmt: skip
    return True


HANDLERS: dict[str, Handler] = {
    lookups.ACCOUNT_LINK: _account_link,
    lookups.REQUEST: _request,
    lookups.NEWSLETTER: _newsletter,
    lookups.OBJECTION: _objection,
}


def handle_job(session: Session, tools: Tools, job_id: str, *, now: datetime) -> bool:
    """Take job `job_id` (delete its row, which must touch exactly one row) and handle it in
    the caller's transaction; False if another worker took it first. Flushes, no commit."""
    row = session.get(PendingLookup, job_id)
    if row is None:
        return False
    job = lookups.open_job(tools.keyring, row)
    taken = session.execute(
        delete(PendingLookup)
        .where(PendingLookup.id == job_id)
        .execution_options(synchronize_session=False)
    )
    session.expunge(row)
    if getattr(taken, "rowcount", 0) != 1:  # another worker has it
        return False
    handler = HANDLERS.get(job.kind)
    if handler is not None:
        handler(session, tools, job.data, now)
    session.flush()
    return True


def pending_ids(session: Session, limit: int = 100) -> list[str]:
    return list(
        session.scalars(select(PendingLookup.id).order_by(PendingLookup.created_at).limit(limit))
    )


def handle_pending(
    factory: sessionmaker[Session],
    settings: Settings,
    *,
    secret: bytes | Sequence[bytes],
    now: datetime,
    limit: int = 100,
    keyring: Keyring | None = None,
) -> int:
    """Handle up to `limit` queued look-ups, oldest first, each in its own transaction;
    return how many were handled. `secret` signs the links the handlers mail; `keyring`
    (loaded from `settings` when not given) opens the jobs and seals what they store."""
    with factory() as session:
        ids = pending_ids(session, limit)
    if not ids:
        return 0
    policies = current_policy_set(settings.policy)  # the compiled engines are kept with it
    rules = policies.engine(policies.in_force(now.date()).version)
    tools = Tools(rules=rules, keyring=keyring or load_keyring(settings), secret=secret)
    done = 0
    for job_id in ids:
        try:
            with transaction(factory) as session:
                done += handle_job(session, tools, job_id, now=now)
        except Exception as exc:
            # One bad job must not stop the others; the log names no person. The job is
            # dropped: its address must not linger, and the person can ask again.
            log.error("look-up %s failed: %s", job_id, type(exc).__name__)
            with transaction(factory) as session:
                session.execute(delete(PendingLookup).where(PendingLookup.id == job_id))
    return done
