"""Deadlines of Art. 12(3) GDPR: one month from receipt, extendable by two further months.

A period "of one month" ends on the day of the next month with the same number as the day
of receipt; where that month is shorter, on its last day (Art. 3(2)(c) of Regulation
1182/71 on periods, dates and time limits). So 31 January gives 28 (or 29) February, and
a further month from there counts from receipt again, giving 31 March, not 28 March.
"""

from __future__ import annotations

import calendar
from datetime import datetime

ANSWER_MONTHS = 1
MAX_EXTENSION_MONTHS = 2


def add_months(moment: datetime, months: int) -> datetime:
    """`moment` moved by whole calendar months, the day clamped to the month's end."""
    carry, month0 = divmod(moment.month - 1 + months, 12)
    year, month = moment.year + carry, month0 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def due_date(received_at: datetime, extended_months: int = 0) -> datetime:
    """When the answer is due, counted from receipt (never from an earlier due date)."""
    return add_months(received_at, ANSWER_MONTHS + extended_months)


def is_overdue(due_at: datetime, now: datetime, *, open_: bool) -> bool:
    return open_ and now > due_at
