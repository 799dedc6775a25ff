"""Applying the policy's retention periods to the vault: plan, then delete or narrow.

`plan_expiry` reads metadata only and says, per field, which purposes have ended and by
which rule; a dry run prints that plan (subject ids, categories, rules: nothing personal).
`apply_expiry` carries it out: a field whose purposes have all ended is deleted, one with
purposes left keeps only those (purpose binding shrinks with time, Art. 5(1)(b) and (e)
GDPR). A field a running legal hold covers stays (Art. 17(3)(b)). A subject left with no
field and no hold is erased by crypto-shredding, so nothing of them lingers in mail or keys.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from schutz.consent.service import ConsentState, derive_state, history
from schutz.policy.schema import Policy, RetentionStart
from schutz.retention.events import latest_events
from schutz.retention.models import SubjectEventType
from schutz.retention.rules import SubjectDates, Verdict, judge
from schutz.vault import service as vault

CHUNK = 200
Progress = Callable[[int], None]


@dataclass(frozen=True, slots=True)
class SubjectPlan:
    """What the run would do to one subject's fields, and what a legal hold keeps."""

    subject_id: str
    verdicts: tuple[Verdict, ...]
    held: tuple[Verdict, ...] = ()


@dataclass(frozen=True, slots=True)
class ExpiryResult:
    fields_deleted: int
    fields_narrowed: int
    fields_held: int
    subjects_erased: int


def _withdrawals(
    session: Session, policy: Policy, subject_id: str
) -> tuple[tuple[str, datetime], ...]:
    states = derive_state(policy, history(session, subject_id))
    ended = (ConsentState.WITHDRAWN, ConsentState.OBJECTED)
    return tuple((p, s.since) for p, s in states.items() if s.state in ended)


def _counts_withdrawal(policy: Policy, fields: Sequence[vault.FieldFacts]) -> bool:
    starts = {
        policy.purposes[p].retention.start for f in fields for p in f.purposes
        if p in policy.purposes
    }  # fmt: skip
    return RetentionStart.WITHDRAWAL in starts


def _held_back(
    session: Session, policy: Policy, subject_id: str, verdicts: list[Verdict], now: datetime
) -> tuple[list[Verdict], list[Verdict]]:
    """(to act on, kept by a running legal hold) among the subject's verdicts."""
    names = vault.running_hold_names(session, subject_id, now)
    if not names:
        return verdicts, []
    specs = [policy.legal_holds.get(n) for n in names]
    if any(s is None for s in specs):  # a hold the policy no longer names keeps everything
        return [], verdicts
    kept = [c for s in specs if s is not None for c in s.categories]
    held = [v for v in verdicts if vault.in_categories(v.field.category, kept)]
    return [v for v in verdicts if v not in held], held


def plan_expiry(
    session: Session, policy: Policy, *, now: datetime, progress: Progress | None = None,
    total: Callable[[int], None] | None = None,
) -> list[SubjectPlan]:  # fmt: skip
    """Every subject with a field whose purposes (some or all) have ended at `now`."""
    ids = vault.retainable_subjects(session)
    if total is not None:
        total(len(ids))
    plans: list[SubjectPlan] = []
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        events = latest_events(session, chunk)
        by_subject: dict[str, list[vault.FieldFacts]] = {}
        for facts in vault.fields_of(session, chunk):
            by_subject.setdefault(facts.subject_id, []).append(facts)
        for subject_id, fields in by_subject.items():
            dates = SubjectDates(
                last_contact=events.get((subject_id, SubjectEventType.LAST_CONTACT.value)),
                contract_ended=events.get((subject_id, SubjectEventType.CONTRACT_ENDED.value)),
                withdrawn=_withdrawals(session, policy, subject_id)
                if _counts_withdrawal(policy, fields) else (),
            )  # fmt: skip
            verdicts = [v for f in fields if (v := judge(policy, f, dates, now)) is not None]
            if verdicts:
                act, held = _held_back(session, policy, subject_id, verdicts, now)
                plans.append(SubjectPlan(subject_id, tuple(act), tuple(held)))
        if progress is not None:
            progress(len(chunk))
    return plans


def apply_expiry(
    session: Session, policy: Policy, plans: Sequence[SubjectPlan], *, actor: str,
    now: datetime, progress: Progress | None = None,
) -> ExpiryResult:  # fmt: skip
    """Carry out `plans` (from `plan_expiry` in the same transaction); audited per subject."""
    deleted = narrowed = held = erased = 0
    for plan in plans:
        held += len(plan.held)
        if plan.verdicts:
            drop = [v.field for v in plan.verdicts if v.drop]
            narrow = [(v.field, v.keep_for) for v in plan.verdicts if not v.drop]
            rules = {v.field.field: "; ".join(e.rule for e in v.expired) for v in plan.verdicts}
            vault.expire_fields(
                session, plan.subject_id, drop=drop, narrow=narrow, rules=rules,
                actor=actor, now=now,
            )  # fmt: skip
            deleted, narrowed = deleted + len(drop), narrowed + len(narrow)
            emptied = not plan.held and not vault.has_fields(session, plan.subject_id)
            if emptied and not vault.running_hold_names(session, plan.subject_id, now):
                vault.erase_subject(session, policy, plan.subject_id, actor=actor, now=now)
                erased += 1
        if progress is not None:
            progress(1)
    return ExpiryResult(deleted, narrowed, held, erased)
