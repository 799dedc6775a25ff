"""Page views at volume: report latency as months of raw page views pile up (PostgreSQL).

Usage: python bench/pageviews.py [RESULTS.md] [--rows 10000000] [--months 12]

A fresh schema on SCHUTZ_TEST_DATABASE_URL (default the local server), migrated, so
`page_view` is partitioned by month. ROWS page views are generated inside PostgreSQL
(`generate_series`, no round trips), one month at a time, oldest first, each month
ROWS / MONTHS rows from 5,000 visitors over 50 paths. After each month the staff report of
that month's last 30 days runs twice: the first call rolls the new days up into
`analytics_daily`, the second is what a reader waits for afterwards. The baseline is the
same report after the first month: flat means the last month's figure stays near it.

Then retention: the oldest month goes with one `DROP TABLE` (`drop_months_before`), beside
a `DELETE` of the same number of rows from the next month, the way the plain table loses them.
With RESULTS.md, its `## Page views at volume` section is replaced (or appended).
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, text

from schutz.analytics.partitions import drop_months_before, ensure_partitions, next_month
from schutz.analytics.reports import summarise
from schutz.db import make_engine, make_session_factory, migrate

SECTION = "## Page views at volume"
PG_URL = os.environ.get(
    "SCHUTZ_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
VISITORS = 5000
PATHS = 50

# Rows spread evenly over the month; a visitor id and path per row from the series number.
FILL = text(
    """
    INSERT INTO page_view (at, path, referrer, ip_truncated, visitor_id)
    SELECT CAST(:start AS timestamptz) + (i * :step) * interval '1 second',
           '/shop/p' || (i % :paths),
           CASE WHEN i % 7 = 0 THEN 'search.example/q' END,
           '203.0.113.0',
           'v' || ((i * 7919) % :visitors)
    FROM generate_series(CAST(0 AS bigint), :rows - 1) AS i
    """
)


def _months(count: int) -> list[date]:
    """The last `count` calendar months up to this one, oldest first."""
    month = datetime.now(UTC).date().replace(day=1)
    months = [month]
    for _ in range(count - 1):
        month = (month - timedelta(days=1)).replace(day=1)
        months.append(month)
    return months[::-1]


def _fill(engine: Engine, month: date, rows: int) -> float:
    seconds = (next_month(month) - month).days * 86400
    started = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(
            FILL,
            {
                "start": datetime.combine(month, datetime.min.time(), UTC),
                "step": seconds / rows,
                "paths": PATHS,
                "visitors": VISITORS,
                "rows": rows,
            },
        )
        conn.exec_driver_sql("ANALYZE page_view")
    return time.perf_counter() - started


def _report_ms(engine: Engine, month: date) -> tuple[float, float, int]:
    """(first call ms, second call ms, page views) of the report of `month`'s last 30 days."""
    end = next_month(month) - timedelta(days=1)
    today = max(end, datetime.now(UTC).date())
    sessions = make_session_factory(engine)
    times = []
    views = 0
    for _ in range(2):
        started = time.perf_counter()
        with sessions() as session, session.begin():
            views = summarise(session, end - timedelta(days=29), end, today=today).page_views
        times.append((time.perf_counter() - started) * 1000)
    return times[0], times[1], views


def _retention(engine: Engine, months: list[date], rows: int) -> tuple[float, float, int]:
    """(ms to drop the oldest month, ms to DELETE as many rows of the next, rows dropped)."""
    cutoff = datetime.combine(months[1], datetime.min.time(), UTC)
    with engine.begin() as conn:
        started = time.perf_counter()
        dropped, _names = drop_months_before(conn, cutoff)
        drop_ms = (time.perf_counter() - started) * 1000
    second = datetime.combine(months[1], datetime.min.time(), UTC)
    with engine.begin() as conn:
        started = time.perf_counter()
        conn.execute(
            text("DELETE FROM page_view WHERE at >= :a AND at < :b"),
            {"a": second, "b": datetime.combine(next_month(months[1]), datetime.min.time(), UTC)},
        )
        delete_ms = (time.perf_counter() - started) * 1000
        conn.rollback()
    return drop_ms, delete_ms, dropped


def run(url: str, rows: int, month_count: int) -> str:
    engine = make_engine(url)
    migrate(engine)
    months = _months(month_count)
    with engine.begin() as conn:
        ensure_partitions(conn, months[0], months[-1])
    per_month = rows // month_count
    lines = []
    baseline = 0.0
    fill_seconds = 0.0
    for index, month in enumerate(months, 1):
        fill_seconds += _fill(engine, month, per_month)
        first, second, views = _report_ms(engine, month)
        baseline = baseline or second
        lines.append(
            f"| {index} | {index * per_month:,} | {month:%Y-%m} | {views:,} | {first:,.0f} | "
            f"{second:,.0f} | {second / baseline:.2f} |"
        )
        print(lines[-1], flush=True)
    drop_ms, delete_ms, dropped = _retention(engine, months, per_month)
    engine.dispose()
    return "\n".join(
        [
            SECTION,
            "",
            f"`bench/pageviews.py --rows {rows:,} --months {month_count}`: PostgreSQL, "
            f"`page_view` partitioned by month; {per_month:,} page views a month from "
            f"{VISITORS:,} visitors over {PATHS} paths, generated inside the database in "
            f"{fill_seconds:.0f} s. {os.cpu_count()} cores shared with other work, Python "
            f"{platform.python_version()}. After each month, the report of that month's last "
            "30 days (`summarise`: daily rollups from `analytics_daily`, visitors and visits "
            "counted in SQL); the first call rolls the new days up, the second is a reader's "
            "wait. Baseline: the second call after month 1.",
            "",
            "| months | rows in table | report month | page views in report | first call ms "
            "| report ms | vs month 1 |",
            "|---:|---:|---|---:|---:|---:|---:|",
            *lines,
            "",
            f"Retention: dropping the oldest month ({dropped:,} rows) took **{drop_ms:,.0f} ms** "
            f"(one `DROP TABLE`); deleting as many rows of the next month with `DELETE` "
            f"(rolled back) took {delete_ms:,.0f} ms, {delete_ms / max(drop_ms, 0.001):,.0f}x "
            "as long.",
            "",
        ]
    )


def write_section(path: Path, section: str) -> None:
    current = path.read_text() if path.exists() else ""
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.MULTILINE | re.DOTALL)
    if pattern.search(current):
        updated = pattern.sub(lambda _: section + "\n", current)
    else:
        updated = current.rstrip("\n") + ("\n\n" if current else "") + section + "\n"
    path.write_text(updated)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="?", type=Path)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--months", type=int, default=12)
    args = parser.parse_args()
    admin = make_engine(PG_URL)
    schema = f"pv_{uuid.uuid4().hex[:10]}"
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:
        sys.exit(f"PostgreSQL not reachable ({type(exc).__name__}): this bench needs it")
    sep = "&" if "?" in PG_URL else "?"
    try:
        section = run(f"{PG_URL}{sep}options=-csearch_path%3D{schema}", args.rows, args.months)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    print(section)
    if args.results:
        write_section(args.results, section)


if __name__ == "__main__":
    main()
