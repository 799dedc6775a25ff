"""Monthly partitions of `page_view` on PostgreSQL (SQLite keeps one plain table).

Each calendar month (UTC) of raw page views is a partition `page_view_pYYYYMM`, and
`page_view_pdefault` takes any row whose month has none yet, so an insert never fails.
`ensure_partitions` creates the months ahead (the worker and the app's start call it) and
moves rows a default partition may hold into their new month. Retention then drops whole
months with one `DROP TABLE` (`drop_months_before`) instead of deleting row by row, and a
report's range touches only the months it covers (partition pruning on `at`).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session, sessionmaker

PARENT = "page_view"
DEFAULT = "page_view_pdefault"
_NAME = re.compile(r"^page_view_p(\d{4})(\d{2})$")
_LOCK = 0x5C4D7001  # pg_advisory_xact_lock key: one server at a time changes partitions


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def partition_name(month: date) -> str:
    return f"page_view_p{month.year:04d}{month.month:02d}"


def _bound(month: date) -> str:
    # A literal from a date object (no user input): DDL takes no bind parameters.
    return f"'{month.isoformat()} 00:00:00+00'"


def is_partitioned(conn: Connection) -> bool:
    """True when `page_view` is a partitioned table (PostgreSQL after migration 0016)."""
    if conn.dialect.name != "postgresql":
        return False
    kind = conn.scalar(
        text("SELECT relkind FROM pg_class WHERE oid = to_regclass(:name)"), {"name": PARENT}
    )
    return bool(kind == "p")


def month_partitions(conn: Connection) -> dict[date, str]:
    """The monthly partitions that exist: first day of the month -> table name."""
    names = conn.scalars(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " WHERE i.inhparent = to_regclass(:name)"
        ),
        {"name": PARENT},
    )
    found = {}
    for name in names:
        match = _NAME.match(name)
        if match:
            found[date(int(match[1]), int(match[2]), 1)] = name
    return found


def ensure_partitions(conn: Connection, first: date, last: date) -> list[str]:
    """Create the monthly partitions from `first`'s month to `last`'s; the names created.

    Rows of such a month already in the default partition move into the new one, in the
    caller's transaction. A no-op where `page_view` is not partitioned.
    """
    if not is_partitioned(conn):
        return []
    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK})
    have = month_partitions(conn)
    created = []
    month = month_start(first)
    while month <= last:
        if month not in have:
            _create_month(conn, month)
            created.append(partition_name(month))
        month = next_month(month)
    return created


def _create_month(conn: Connection, month: date) -> None:
    name, low, high = partition_name(month), _bound(month), _bound(next_month(month))
    conn.exec_driver_sql(
        f"CREATE TABLE {name} (LIKE {PARENT} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
    )
    # Until the ATTACH, a beacon of that month would land in the default partition again
    # and the ATTACH would refuse: hold the default partition for the move.
    conn.exec_driver_sql(f"LOCK TABLE {DEFAULT} IN ACCESS EXCLUSIVE MODE")
    conn.exec_driver_sql(
        f"WITH moved AS (DELETE FROM {DEFAULT} WHERE at >= {low} AND at < {high} RETURNING *)"  # noqa: S608 - names and bounds made here from dates
        f" INSERT INTO {name} SELECT * FROM moved"
    )
    conn.exec_driver_sql(
        f"ALTER TABLE {PARENT} ATTACH PARTITION {name} FOR VALUES FROM ({low}) TO ({high})"
    )


MONTHS_AHEAD = 2


def prepare_months(sessions: sessionmaker[Session], today: date) -> list[str]:
    """This month's partition and the next `MONTHS_AHEAD` months', committed (the app's start
    and the worker, hourly, call it; two servers at once wait on the advisory lock)."""
    last = month_start(today)
    for _ in range(MONTHS_AHEAD):
        last = next_month(last)
    with sessions() as session, session.begin():
        return ensure_partitions(session.connection(), today, last)


def drop_months_before(conn: Connection, cutoff: datetime) -> tuple[int, list[str]]:
    """Drop every monthly partition that ends on or before `cutoff`, in one statement.

    Returns (rows they held, their names). Rows after the last whole month stay for the
    caller to delete one by one.
    """
    if not is_partitioned(conn):
        return 0, []
    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK})
    gone = sorted(
        name
        for month, name in month_partitions(conn).items()
        if datetime.combine(next_month(month), datetime.min.time(), UTC) <= cutoff
    )
    if not gone:
        return 0, []
    count = "SELECT count(*) FROM {}"  # table names from the catalogue, matched by _NAME
    rows = sum(int(conn.scalar(text(count.format(name))) or 0) for name in gone)
    conn.exec_driver_sql(f"DROP TABLE {', '.join(gone)}")
    return rows, gone
