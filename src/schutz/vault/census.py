"""What the vault holds, by metadata only: for the breach register and the retention run.

Nothing here decrypts: categories, sources, purposes and dates are enough to say whom a
breach concerned (Art. 33(3)(a) GDPR) and which fields have outlived their purposes
(Art. 5(1)(e), storage limitation). Dropping expired fields is audited here, by field name
and category, never by value.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, delete, or_, select, update
from sqlalchemy.orm import Session

from schutz.audit import service as audit
from schutz.vault import identities
from schutz.vault.models import LegalHold, PersonalField, Subject


@dataclass(frozen=True, slots=True)
class FieldFacts:
    """One stored field, without its value."""

    id: int
    subject_id: str
    field: str
    category: str
    source: str
    purposes: tuple[str, ...]
    created_at: datetime
    updated_at: datetime


def in_categories(category: str, wanted: Iterable[str]) -> bool:
    """Whether `category` is one of `wanted` or below one (taxonomy keys are dotted)."""
    return any(category == w or category.startswith(w + ".") for w in wanted)


def _live_fields() -> Select[PersonalField]:
    return (
        select(PersonalField)
        .join(Subject, Subject.id == PersonalField.subject_id)
        .where(Subject.erased_at.is_(None))
    )


def _facts(row: PersonalField) -> FieldFacts:
    return FieldFacts(
        row.id, row.subject_id, row.field, row.category, row.source, tuple(row.purposes),
        row.created_at, row.updated_at,
    )  # fmt: skip


def fields_in(
    session: Session, categories: Sequence[str], *, sources: Sequence[str] = (), stored_by: datetime
) -> list[FieldFacts]:
    """Live fields in `categories` (or below), from `sources` (any when empty), stored no
    later than `stored_by`: the fields that were in the vault when a breach ended."""
    query = _live_fields().where(
        PersonalField.created_at <= stored_by,
        or_(
            PersonalField.category.in_(list(categories)),
            *(PersonalField.category.startswith(c + ".") for c in categories),
        ),
    )
    if sources:
        query = query.where(PersonalField.source.in_(list(sources)))
    rows = session.scalars(query.order_by(PersonalField.subject_id, PersonalField.id))
    return [_facts(r) for r in rows if in_categories(r.category, categories)]


def retainable_subjects(session: Session) -> list[str]:
    """Ids of live, unrestricted subjects with fields, in id order.

    A held-back erasure finishes through the legal-hold run; a restricted subject's data
    is kept as it is (Art. 18(1)(c) GDPR: the subject may need it for a legal claim after
    the controller no longer does), so retention leaves both alone.
    """
    query = (
        select(Subject.id)
        .where(
            Subject.erased_at.is_(None),
            Subject.restricted_at.is_(None),
            Subject.erasure_requested_at.is_(None),
            select(PersonalField.id).where(PersonalField.subject_id == Subject.id).exists(),
        )
        .order_by(Subject.id)
    )
    return list(session.scalars(query))


def fields_of(session: Session, subject_ids: Sequence[str]) -> list[FieldFacts]:
    """The fields of these subjects, metadata only, by subject."""
    query = (
        select(PersonalField)
        .where(PersonalField.subject_id.in_(list(subject_ids)))
        .order_by(PersonalField.subject_id, PersonalField.id)
    )
    return [_facts(r) for r in session.scalars(query)]


def held_erasures_due(session: Session, now: datetime) -> list[str]:
    """Subjects whose erasure waited for a legal hold that has now lapsed."""
    query = select(Subject.id).where(
        Subject.erasure_due_on <= now.date(), Subject.erased_at.is_(None)
    )
    return list(session.scalars(query.order_by(Subject.erasure_due_on, Subject.id)))


def running_hold_names(session: Session, subject_id: str, now: datetime) -> tuple[str, ...]:
    """Keys of the subject's legal holds that have not lapsed."""
    return tuple(
        session.scalars(
            select(LegalHold.hold).where(
                LegalHold.subject_id == subject_id, LegalHold.lapses_on > now.date()
            )
        )
    )


def expire_fields(
    session: Session,
    subject_id: str,
    *,
    drop: Sequence[FieldFacts],
    narrow: Sequence[tuple[FieldFacts, tuple[str, ...]]],
    rules: dict[str, str],
    actor: str,
    now: datetime,
) -> None:
    """Delete the fields in `drop`, keep those in `narrow` for the listed purposes only,
    and audit it once with the fields' names, categories and the rules applied.

    A dropped address or custom identity takes its blind index with it: the person can no
    longer be found by it, and a later intake with it starts a new subject.
    """
    if drop:
        session.execute(delete(PersonalField).where(PersonalField.id.in_([f.id for f in drop])))
        dropped = [f.field for f in drop]
        if "email" in dropped:
            session.execute(
                update(Subject).where(Subject.id == subject_id).values(email_index=None)
            )
        identities.forget(session, subject_id, dropped)
    for facts, keep in narrow:
        row = session.get(PersonalField, facts.id)
        if row is not None:
            row.purposes = list(keep)
            row.updated_at = now
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="vault.retention_expired",
        subject_id=subject_id,
        details={
            "deleted": [{"field": f.field, "category": f.category} for f in drop],
            "narrowed": [{"field": f.field, "kept_for": list(k)} for f, k in narrow],
            "rules": rules,
        },
        now=now,
    )


def has_fields(session: Session, subject_id: str) -> bool:
    found = session.scalar(
        select(PersonalField.id).where(PersonalField.subject_id == subject_id).limit(1)
    )
    return found is not None
