"""Recording breaches, finding whom they affected, reporting them and telling the subjects.

Every step writes one audit entry in the caller's transaction (Art. 33(5) GDPR: the
controller documents every breach, its effects and the remedial action, so that the
authority can verify compliance). Affected subjects are found by a query over the vault's
metadata: fields in the concerned categories, from the concerned sources, that were stored
by the time the breach ended. Subject mails (Art. 34) leave through the outbox, sealed
under each subject's key, once per subject however often the step is repeated.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.orm import Session

from schutz.audit import service as audit
from schutz.breaches.clock import NOTIFY_WITHIN, deadline, is_overdue
from schutz.breaches.draft import subject_mail
from schutz.breaches.models import Breach, BreachSubject, Risk
from schutz.errors import Conflict, InvalidInput, NotFound
from schutz.mail.outbox import enqueue_mail
from schutz.policy.schema import Policy
from schutz.vault import service as vault
from schutz.vault.keys import Keyring


@dataclass(frozen=True, slots=True)
class BreachFacts:
    """What the DPO enters about a breach; texts describe the incident, not people."""

    title: str
    nature: str
    aware_at: datetime
    categories: tuple[str, ...]
    risk: str
    consequences: str
    measures: str
    sources: tuple[str, ...] = ()
    occurred_from: datetime | None = None
    occurred_until: datetime | None = None


def _text(value: str, what: str, limit: int) -> str:
    value = value.strip()
    if not value:
        raise InvalidInput(f"the breach needs {what}")
    if len(value) > limit:
        raise InvalidInput(f"{what} is longer than {limit} characters")
    return value


def _check(policy: Policy, facts: BreachFacts, now: datetime) -> None:
    if not facts.categories:
        raise InvalidInput("name at least one data category concerned")
    for category in facts.categories:
        if not any(vault.in_categories(known, [category]) for known in policy.categories):
            raise InvalidInput(f"the policy names no data category {category!r}")
    for source in facts.sources:
        if source not in policy.sources:
            raise InvalidInput(f"the policy names no source {source!r}")
    if facts.risk not in {r.value for r in Risk}:
        raise InvalidInput("risk must be one of: none, risk, high")
    if facts.aware_at > now:
        raise InvalidInput("the time of awareness lies in the future")
    start, end = facts.occurred_from, facts.occurred_until
    if start is not None and end is not None and start > end:
        raise InvalidInput("the breach cannot end before it began")


def record_breach(
    session: Session, policy: Policy, facts: BreachFacts, *, actor: str, now: datetime
) -> Breach:
    """Enter a breach in the register and find the subjects it affected (Art. 33(5))."""
    _check(policy, facts, now)
    stored_by = facts.occurred_until or facts.aware_at
    fields = vault.fields_in(session, facts.categories, sources=facts.sources, stored_by=stored_by)
    subjects = sorted({f.subject_id for f in fields})
    breach = Breach(
        id=secrets.token_hex(16),
        title=_text(facts.title, "a title", 200),
        nature=_text(facts.nature, "a description of what happened", 4000),
        aware_at=facts.aware_at,
        occurred_from=facts.occurred_from,
        occurred_until=facts.occurred_until,
        categories=list(facts.categories),
        sources=list(facts.sources),
        risk=facts.risk,
        consequences=_text(facts.consequences, "the likely consequences", 4000),
        measures=_text(facts.measures, "the measures taken", 4000),
        affected_subjects=len(subjects),
        affected_records=len(fields),
        recorded_by=actor,
        recorded_at=now,
    )
    session.add(breach)
    session.flush()
    session.add_all(BreachSubject(breach_id=breach.id, subject_id=s) for s in subjects)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="breach.recorded",
        details={
            "breach_id": breach.id,
            "risk": breach.risk,
            "categories": breach.categories,
            "sources": breach.sources,
            "affected_subjects": len(subjects),
            "affected_records": len(fields),
            "report_by": deadline(breach).isoformat(),
        },
        now=now,
    )
    return breach


def get_breach(session: Session, breach_id: str) -> Breach:
    breach = session.get(Breach, breach_id) if len(breach_id) <= 32 else None
    if breach is None:
        raise NotFound("no such breach")
    return breach


def list_breaches(session: Session, *, limit: int = 200) -> Sequence[Breach]:
    """The register, newest awareness first."""
    return session.scalars(select(Breach).order_by(Breach.aware_at.desc()).limit(limit)).all()


def unreported_overdue(session: Session, *, now: datetime) -> int:
    """Breaches the authority should have heard of by now and has not (for /metrics)."""
    query = (
        select(func.count())
        .select_from(Breach)
        .where(
            Breach.risk != Risk.NONE.value,
            Breach.reported_at.is_(None),
            Breach.aware_at < now - NOTIFY_WITHIN,
        )
    )
    return int(session.scalar(query) or 0)


def mark_reported(
    session: Session,
    breach_id: str,
    *,
    reference: str | None,
    delay_reason: str | None,
    actor: str,
    now: datetime,
) -> Breach:
    """Record that the supervisory authority was notified (Art. 33(1)); once only.

    After the 72 hours the notification must give the reasons for the delay.
    """
    breach = get_breach(session, breach_id)
    late = is_overdue(breach, now) or (breach.reported_at is None and now > deadline(breach))
    reason = (delay_reason or "").strip() or None
    if late and reason is None:
        raise InvalidInput("reported after 72 hours: give the reasons for the delay (Art. 33(1))")
    ref = (reference or "").strip()[:80] or None
    result = session.execute(
        update(Breach)
        .where(Breach.id == breach.id, Breach.reported_at.is_(None))
        .values(reported_at=now, authority_reference=ref, delay_reason=reason)
    )
    if cast("CursorResult[Any]", result).rowcount != 1:
        raise Conflict("the authority has been notified of this breach already")
    session.refresh(breach)
    audit.record(
        session,
        actor=actor,
        action="breach.reported",
        details={"breach_id": breach.id, "late": late, "reference": ref},
        now=now,
    )
    return breach


@dataclass(frozen=True, slots=True)
class Notified:
    queued: int
    """Mails queued now."""
    without_address: int
    """Affected subjects with no address left (erased since, or none given)."""
    already: int
    """Told before."""


def notify_subjects(
    session: Session,
    policy: Policy,
    keyring: Keyring,
    breach_id: str,
    *,
    actor: str,
    now: datetime,
    lang: str = "en",
    progress: Callable[[int], None] | None = None,
) -> Notified:
    """Queue the Art. 34 mail to every affected subject not told yet; sealed, once each."""
    breach = get_breach(session, breach_id)
    rows = session.scalars(select(BreachSubject).where(BreachSubject.breach_id == breach.id)).all()
    queued = missing = already = 0
    for row in rows:
        if row.notified_at is not None:
            already += 1
        elif _tell(session, policy, keyring, breach, row, lang=lang, now=now):
            queued += 1
        else:
            missing += 1
        if progress is not None:
            progress(1)
    if breach.subjects_notified_at is None and queued:
        breach.subjects_notified_at = now
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="breach.subjects_notified",
        details={
            "breach_id": breach.id,
            "queued": queued,
            "without_address": missing,
            "already": already,
        },
        now=now,
    )
    return Notified(queued, missing, already)


def _tell(
    session: Session,
    policy: Policy,
    keyring: Keyring,
    breach: Breach,
    row: BreachSubject,
    *,
    lang: str,
    now: datetime,
) -> bool:
    address = vault.contact_address(session, keyring, row.subject_id)
    if address is None:
        return False
    claimed = session.execute(
        update(BreachSubject)
        .where(
            BreachSubject.breach_id == breach.id,
            BreachSubject.subject_id == row.subject_id,
            BreachSubject.notified_at.is_(None),
        )
        .values(notified_at=now)
    )
    if cast("CursorResult[Any]", claimed).rowcount != 1:
        return False  # another run told this subject a moment ago
    mail = subject_mail(policy, breach, lang)
    enqueue_mail(
        session,
        to=address,
        subject=mail.subject,
        body=mail.body,
        idempotency_key=f"breach:{breach.id}:{row.subject_id}",
        now=now,
        subject_id=row.subject_id,
        keyring=keyring,
    )
    return True
