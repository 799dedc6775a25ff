"""Erasure by crypto-shredding, restriction, and the retention run that finishes held erasures.

Destroying a subject's data key makes every ciphertext of that subject unreadable wherever a
copy lives, backups included (Art. 17 GDPR, clause C11). The field rows and the subject's
outbox mail go in the same transaction; a tombstone with only the id and the time lets a
restore re-apply the erasure.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import CursorResult, delete, insert, select
from sqlalchemy.orm import Session

from schutz.audit import service as audit
from schutz.db import request_checkpoint
from schutz.errors import Conflict, NotFound
from schutz.mail.retention import forget_subject
from schutz.policy.schema import Policy
from schutz.vault import identities
from schutz.vault.holds import held_categories, is_kept
from schutz.vault.models import LegalHold, PersonalField, Subject, Tombstone


@dataclass(frozen=True, slots=True)
class ErasureResult:
    """`erased` when shredded now; otherwise restricted until `held_until` (a legal hold)."""

    subject_id: str
    erased: bool
    held_until: date | None = None
    kept: tuple[str, ...] = ()


def _subject(session: Session, subject_id: str) -> Subject:
    subject = session.get(Subject, subject_id)
    if subject is None or subject.erased_at is not None:
        raise NotFound("no such subject")
    return subject


def _shred(session: Session, subject: Subject, now: datetime) -> int:
    """Delete the key, the index and every field of `subject`; leave the tombstone."""
    result = session.execute(delete(PersonalField).where(PersonalField.subject_id == subject.id))
    removed = cast("CursorResult[Any]", result).rowcount
    session.execute(delete(LegalHold).where(LegalHold.subject_id == subject.id))
    identities.forget(session, subject.id)
    subject.wrapped_key = None
    subject.master_key_id = None
    subject.email_index = None
    subject.restricted_at = None
    subject.erasure_requested_at = None
    subject.erasure_due_on = None
    subject.erased_at = now
    session.execute(insert(Tombstone).values(subject_id=subject.id, erased_at=now))
    # The subject's queued and sent mail goes too (its .eml files with the next sweep), and
    # once this commits, SQLite's log is folded in and emptied, so that no page with the
    # wrapped key survives in the WAL (with secure_delete, freed pages are zeroed).
    forget_subject(session, subject.id)
    request_checkpoint(session)
    session.flush()
    return int(removed or 0)


def erase_subject(
    session: Session, policy: Policy, subject_id: str, *, actor: str, now: datetime
) -> ErasureResult:
    """Erase the subject (Art. 17(1) GDPR) unless a legal hold requires keeping some data.

    Under a running hold (Art. 17(3)(b): compliance with a legal obligation) the fields the
    hold does not cover are shredded at once, the rest is restricted (Art. 18) so that only
    the purposes that survive restriction (legal obligation, legal claims) may read it, and
    `erasure_due_on` records when `schutz retention run` completes the erasure.
    """
    subject = _subject(session, subject_id)
    today = now.date()
    holds = list(
        session.scalars(
            select(LegalHold).where(LegalHold.subject_id == subject_id, LegalHold.lapses_on > today)
        )
    )
    if not holds:
        removed = _shred(session, subject, now)
        audit.record(
            session,
            actor=actor,
            action="vault.erase",
            subject_id=subject_id,
            details={"fields_removed": removed, "method": "crypto-shredding"},
            now=now,
        )
        return ErasureResult(subject_id, erased=True)

    return _erase_under_hold(session, policy, subject, holds, actor=actor, now=now)


def _erase_under_hold(
    session: Session,
    policy: Policy,
    subject: Subject,
    holds: list[LegalHold],
    *,
    actor: str,
    now: datetime,
) -> ErasureResult:
    """Shred what no running hold covers, restrict the rest until the last hold lapses."""
    subject_id = subject.id
    kept_categories = held_categories(policy, holds)
    rows = session.execute(
        select(PersonalField.id, PersonalField.field, PersonalField.category).where(
            PersonalField.subject_id == subject_id
        )
    ).all()
    drop = [r.id for r in rows if not is_kept(r.category, kept_categories)]
    kept = tuple(sorted(r.field for r in rows if is_kept(r.category, kept_categories)))
    if drop:
        session.execute(delete(PersonalField).where(PersonalField.id.in_(drop)))
    if "email" not in kept:
        subject.email_index = None
    identities.forget(session, subject_id, [r.field for r in rows if r.field not in kept])
    # No legal hold covers mail: the subject's queued and written mail goes now.
    forget_subject(session, subject_id)
    request_checkpoint(session)
    until = max(h.lapses_on for h in holds)
    subject.restricted_at = subject.restricted_at or now
    subject.erasure_requested_at = now
    subject.erasure_due_on = until
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="vault.erasure_held",
        subject_id=subject_id,
        purpose="legal_obligation",
        details={
            "holds": sorted({h.hold for h in holds}),
            "fields_removed": len(drop),
            "fields_kept": list(kept),
            "erase_on": until.isoformat(),
        },
        now=now,
    )
    return ErasureResult(subject_id, erased=False, held_until=until, kept=kept)


def restrict_subject(
    session: Session, subject_id: str, *, actor: str, reason: str, now: datetime
) -> None:
    """Restrict processing (Art. 18(1) GDPR): from now on only the exception purposes that
    survive restriction may read the data; storage goes on. `reason` is a short code such as
    `accuracy_contested`, never free text."""
    subject = _subject(session, subject_id)
    if subject.restricted_at is None:
        subject.restricted_at = now
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="vault.restrict",
        subject_id=subject_id,
        details={"reason": reason},
        now=now,
    )


def lift_restriction(session: Session, subject_id: str, *, actor: str, now: datetime) -> None:
    """End a restriction (Art. 18(3): the subject is told before it is lifted, by the caller).

    A restriction that holds back an erasure under a legal hold cannot be lifted.
    """
    subject = _subject(session, subject_id)
    if subject.erasure_requested_at is not None:
        raise Conflict("this restriction holds back an erasure under a legal hold and stays")
    subject.restricted_at = None
    session.flush()
    audit.record(
        session, actor=actor, action="vault.restriction_lifted", subject_id=subject_id, now=now
    )


def run_retention(
    session: Session, policy: Policy, *, actor: str, now: datetime, limit: int | None = None
) -> list[ErasureResult]:
    """Complete the erasures held back by legal holds that have now lapsed.

    A hold placed after the erasure request pushes the date on instead.
    """
    query = (
        select(Subject.id)
        .where(Subject.erasure_due_on <= now.date(), Subject.erased_at.is_(None))
        .order_by(Subject.erasure_due_on)
    )
    if limit is not None:
        query = query.limit(limit)
    return [
        erase_subject(session, policy, subject_id, actor=actor, now=now)
        for subject_id in session.scalars(query).all()
    ]


def reapply_erasure(
    session: Session,
    policy: Policy,
    subject_id: str,
    *,
    erased_at: datetime,
    held: bool = False,
    actor: str,
    now: datetime,
) -> str:
    """Make an erasure decided at `erased_at` hold again after a restore (Art. 17 GDPR).

    Returns what it did: "present" when the database already knows it (a tombstone, or the
    same erasure still waiting under a legal hold), "shredded" or "held" when the subject
    was erased again through `erase_subject` (which audits it), "tombstone" when nothing is
    left to shred and only the tombstone, with its original time, had to come back.
    `held` says the erasure had been waiting under a legal hold rather than done.
    """
    if session.get(Tombstone, subject_id) is not None:
        return "present"
    subject = session.get(Subject, subject_id)
    if subject is not None and subject.erased_at is None:
        if held and subject.erasure_requested_at is not None:
            return "present"
        result = erase_subject(session, policy, subject_id, actor=actor, now=now)
        return "shredded" if result.erased else "held"
    session.execute(insert(Tombstone).values(subject_id=subject_id, erased_at=erased_at))
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="vault.tombstone_restored",
        subject_id=subject_id,
        details={"erased_at": erased_at.isoformat(), "held": held},
        now=now,
    )
    return "tombstone"


ERASURE_TABLES = (Subject.__tablename__, Tombstone.__tablename__)
"""The tables `erasure_decisions` reads; a backup checks they exist before asking."""


def erasure_decisions(
    session: Session,
) -> tuple[list[tuple[str, datetime]], list[tuple[str, datetime]]]:
    """`(done, waiting)`: `(subject_id, when)` of every erasure a restore must not forget.

    Done ones come from the tombstones; waiting ones are erasures held back by a legal hold
    (the subject is restricted until it lapses). Ids and times only, nothing personal.
    """
    done = session.execute(select(Tombstone.subject_id, Tombstone.erased_at)).all()
    waiting = session.execute(
        select(Subject.id, Subject.erasure_requested_at).where(
            Subject.erasure_requested_at.is_not(None), Subject.erased_at.is_(None)
        )
    ).all()
    return [(i, t) for i, t in done], [(i, t) for i, t in waiting if t is not None]
