"""When a purpose's retention ends for one stored field: the policy's rule applied to dates.

Pure: it takes the field's dates and the subject's events and answers with the end, or
None while the period has not started or cannot be known. What each `start` counts from:

- `collection`: when the field was stored.
- `last_contact`: the later of the newest `last_contact` event and the field's last write
  (giving data is contact too).
- `end_of_contract`: the newest `contract_ended` event, if it is not older than the field
  (a field written after the contract ended belongs to a new one); none: still running.
- `end_of_calendar_year`: 31 December of the year the field was stored.
- `withdrawal`: when the subject withdrew consent or objected to that purpose.
- `purpose_fulfilled`: only a person can tell; never ends automatically.

A missing period means "until the start" (the end is the start itself).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from schutz.policy.schema import Policy, RetentionStart
from schutz.vault.service import FieldFacts

_PERIOD = re.compile(r"P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)D)?")


def add_period(moment: datetime, period: str | None) -> datetime:
    """`moment` plus an ISO 8601 duration of years, months and days (month ends clamp)."""
    if period is None:
        return moment
    match = _PERIOD.fullmatch(period)
    if match is None:
        raise ValueError(f"retention period {period!r} is not an ISO 8601 duration")
    years, months, days = (int(g or 0) for g in match.groups())
    carry, month0 = divmod(moment.month - 1 + 12 * years + months, 12)
    year, month = moment.year + carry, month0 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day) + timedelta(days=days)


@dataclass(frozen=True, slots=True)
class SubjectDates:
    """What a subject's periods can count from besides the field itself."""

    last_contact: datetime | None = None
    contract_ended: datetime | None = None
    withdrawn: tuple[tuple[str, datetime], ...] = ()
    """(purpose, when) for purposes now withdrawn or objected to."""


@dataclass(frozen=True, slots=True)
class Ending:
    """When one purpose of one field ends, and the rule that says so (no personal data)."""

    purpose: str
    ends_at: datetime
    rule: str


def _start(
    start: RetentionStart, purpose: str, field: FieldFacts, dates: SubjectDates
) -> datetime | None:
    if start is RetentionStart.COLLECTION:
        return field.created_at
    if start is RetentionStart.LAST_CONTACT:
        return max(filter(None, (dates.last_contact, field.updated_at)))
    if start is RetentionStart.END_OF_CONTRACT:
        ended = dates.contract_ended
        return ended if ended is not None and ended >= field.updated_at else None
    if start is RetentionStart.END_OF_CALENDAR_YEAR:
        return datetime(field.created_at.year, 12, 31, 23, 59, 59, tzinfo=UTC)
    if start is RetentionStart.WITHDRAWAL:
        return dict(dates.withdrawn).get(purpose)
    return None  # purpose_fulfilled: a person decides


def ending(policy: Policy, purpose: str, field: FieldFacts, dates: SubjectDates) -> Ending | None:
    """When `purpose` ends for `field`; None while it runs, or if the policy does not
    know the purpose (never destroy on a doubt)."""
    spec = policy.purposes.get(purpose)
    if spec is None:
        return None
    retention = spec.retention
    start = _start(retention.start, purpose, field, dates)
    if start is None:
        return None
    period = retention.period or "P0D"
    rule = f"{purpose}: {period} after {retention.start.value} ({start.date().isoformat()})"
    return Ending(purpose, add_period(start, retention.period), rule)


@dataclass(frozen=True, slots=True)
class Verdict:
    """What to do with one field: drop it, or keep it for fewer purposes."""

    field: FieldFacts
    expired: tuple[Ending, ...]
    keep_for: tuple[str, ...]

    @property
    def drop(self) -> bool:
        return not self.keep_for


def judge(policy: Policy, field: FieldFacts, dates: SubjectDates, now: datetime) -> Verdict | None:
    """The verdict on `field` at `now`, or None when every purpose still runs.

    Data is kept while any purpose it was collected for still runs (Art. 5(1)(b), (e)
    GDPR); a field whose purposes have all ended goes.
    """
    expired: list[Ending] = []
    keep: list[str] = []
    for purpose in field.purposes:
        end = ending(policy, purpose, field, dates)
        if end is not None and end.ends_at <= now:
            expired.append(end)
        else:
            keep.append(purpose)
    if not expired:
        return None
    return Verdict(field, tuple(expired), tuple(keep))
