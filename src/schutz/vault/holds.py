"""Legal holds: statutory retention that outlives an erasure request (Art. 17(3)(b) GDPR).

German commercial and tax law make the controller keep accounting vouchers, invoices among
them, for 8 years (10 before 2025), commercial letters for 6 and books for 10 (HGB §257(4),
AO §147(3) as amended by the Fourth Bureaucracy Relief Act from 1 January 2025). The period
starts at the end of the calendar year in which the document arose (HGB §257(5),
AO §147(4)). The periods themselves come from the policy's `legal_holds`.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from schutz.audit import service as audit
from schutz.errors import InvalidInput, NotFound
from schutz.policy.schema import LegalHold as HoldSpec
from schutz.policy.schema import Policy, RetentionStart
from schutz.vault.models import LegalHold, Subject

_PERIOD = re.compile(r"P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)D)?")


def _add_months(day: date, months: int) -> date:
    carry, month0 = divmod(day.month - 1 + months, 12)
    year, month = day.year + carry, month0 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def lapse_date(spec: HoldSpec, event: date) -> date:
    """The first day the hold no longer applies to a document dated `event`.

    For the German periods: an invoice of 10 March 2025 is kept through 31 December 2033
    and may go from 1 January 2034 (end of 2025 plus 8 years).
    """
    match = _PERIOD.fullmatch(spec.period)
    if match is None:
        raise InvalidInput(f"legal hold period {spec.period!r} is not an ISO 8601 duration")
    years, months, days = (int(g or 0) for g in match.groups())
    start = date(event.year, 12, 31) if spec.start is RetentionStart.END_OF_CALENDAR_YEAR else event
    end = _add_months(start, 12 * years + months) + timedelta(days=days)
    return end + timedelta(days=1)


def place_hold(
    session: Session,
    policy: Policy,
    subject_id: str,
    hold: str,
    *,
    reference: str,
    event_date: date,
    actor: str,
    now: datetime,
) -> LegalHold:
    """Record that the subject's data of `hold`'s categories must be kept (e.g. an invoice).

    Called by the domain that creates the document (orders for invoices). An erasure
    request while the hold runs restricts the data instead (Art. 17(3)(b), Art. 18 GDPR).
    """
    spec = policy.legal_holds.get(hold)
    if spec is None:
        raise InvalidInput(f"the policy names no legal hold {hold!r}")
    subject = session.get(Subject, subject_id)
    if subject is None or subject.erased_at is not None:
        raise NotFound("no such subject")
    row = LegalHold(
        subject_id=subject_id,
        hold=hold,
        reference=reference,
        event_date=event_date,
        lapses_on=lapse_date(spec, event_date),
        created_at=now,
    )
    session.add(row)
    if subject.erasure_due_on is not None and row.lapses_on > subject.erasure_due_on:
        subject.erasure_due_on = row.lapses_on
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="vault.hold_placed",
        subject_id=subject_id,
        purpose="legal_obligation",
        details={
            "hold": hold,
            "reference": reference,
            "basis": spec.basis,
            "lapses_on": row.lapses_on.isoformat(),
        },
        now=now,
    )
    return row


def held_categories(policy: Policy, holds: list[LegalHold]) -> frozenset[str] | None:
    """Categories the running holds keep; None means "everything" (a hold the policy no
    longer names keeps all data rather than risk destroying what the law requires)."""
    kept: set[str] = set()
    for hold in holds:
        spec = policy.legal_holds.get(hold.hold)
        if spec is None:
            return None
        kept.update(spec.categories)
    return frozenset(kept)


def is_kept(category: str, kept: frozenset[str] | None) -> bool:
    """Whether a field of `category` falls under the kept categories (parents included)."""
    if kept is None:
        return True
    return category in kept or any(category.startswith(k + ".") for k in kept)
