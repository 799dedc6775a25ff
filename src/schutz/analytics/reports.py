"""Reports for the operator: daily aggregates computed from raw page views, and the summary.

A visit is a visitor's run of page views with no gap over 30 minutes (the convention of
Matomo and Google Analytics). A visitor is the analytics cookie's random id or, failing
that, the truncated address. Daily figures live in `analytics_daily` and stay after the raw
rows are deleted; figures across days (distinct visitors, returning visitors, frequency)
need the raw rows and so cover only the raw-data retention window.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from typing import Any

from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.orm import Session

from schutz.analytics.models import KEY_MAX, DailyAggregate, PageView

VISIT_GAP = timedelta(minutes=30)
TOP = 10
# Buckets of "visits per visitor" for the frequency chart: (label, lowest, highest).
FREQUENCY_BUCKETS: tuple[tuple[str, int, int], ...] = (
    ("1", 1, 1),
    ("2", 2, 2),
    ("3-4", 3, 4),
    ("5-9", 5, 9),
    ("10+", 10, 1 << 30),
)

Row = tuple[datetime, str, str | None, str]  # at, path, referrer, visitor key


def _start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _rows(session: Session, start: datetime, end: datetime) -> list[Row]:
    key = func.coalesce(PageView.visitor_id, PageView.ip_truncated, "")
    result = session.execute(
        select(PageView.at, PageView.path, PageView.referrer, key)
        .where(PageView.at >= start, PageView.at < end)
        .order_by(PageView.at)
    )
    return [(at, path, ref, str(vk)) for at, path, ref, vk in result]


def count_visits(times_by_visitor: dict[str, list[datetime]]) -> dict[str, int]:
    """Visits per visitor: a new visit starts after more than 30 minutes of silence."""
    visits: dict[str, int] = {}
    for visitor, times in times_by_visitor.items():
        ordered = sorted(times)
        visits[visitor] = 1 + sum(1 for a, b in pairwise(ordered) if b - a > VISIT_GAP)
    return visits


def _by_visitor(rows: Iterable[Row]) -> dict[str, list[datetime]]:
    times: dict[str, list[datetime]] = defaultdict(list)
    for at, _path, _ref, visitor in rows:
        times[visitor].append(at)
    return times


# PostgreSQL rolls a day up where the rows are: every page view counts once in `total`,
# its path, its referrer (when there is one) and its hour; within each figure a visit starts
# at a visitor's first page view and after every gap over 30 minutes.
_ROLLUP_SQL = text(
    """
    INSERT INTO analytics_daily (day, kind, key, page_views, visits, visitors)
    SELECT :day, kind, key, count(*),
           count(*) FILTER (WHERE prev IS NULL OR at - prev > interval '30 minutes'),
           count(DISTINCT vk)
    FROM (
        SELECT kind, key, vk, at,
               lag(at) OVER (PARTITION BY kind, key, vk ORDER BY at) AS prev
        FROM (
            SELECT at, coalesce(visitor_id, ip_truncated, '') AS vk, path, referrer,
                   to_char(at AT TIME ZONE 'UTC', 'HH24') AS hour
            FROM page_view WHERE at >= :start AND at < :end
        ) AS r
        CROSS JOIN LATERAL (
            VALUES ('total', ''), ('path', left(r.path, :key_max)),
                   ('referrer', left(r.referrer, :key_max)), ('hour', r.hour)
        ) AS figure(kind, key)
        WHERE figure.key IS NOT NULL AND (figure.key <> '' OR figure.kind = 'total')
    ) AS ordered
    GROUP BY kind, key
    """
)


def aggregate_day(session: Session, day: date) -> int:
    """(Re)compute the aggregates of `day` from its raw page views; rows written."""
    session.execute(delete(DailyAggregate).where(DailyAggregate.day == day))
    start, end = _start(day), _start(day + timedelta(days=1))
    if session.get_bind().dialect.name == "postgresql":
        params = {"day": day, "start": start, "end": end, "key_max": KEY_MAX}
        return int(getattr(session.execute(_ROLLUP_SQL, params), "rowcount", 0) or 0)
    rows = _rows(session, start, end)
    if not rows:
        return 0
    visits = count_visits(_by_visitor(rows))
    figures: list[dict[str, Any]] = [
        {
            "day": day,
            "kind": "total",
            "key": "",
            "page_views": len(rows),
            "visits": sum(visits.values()),
            "visitors": len(visits),
        }
    ]
    for kind, pick in (
        ("path", lambda r: r[1]),
        ("referrer", lambda r: r[2]),
        ("hour", lambda r: f"{r[0].astimezone(UTC).hour:02d}"),
    ):
        groups: dict[str, list[Row]] = defaultdict(list)
        for row in rows:
            key = pick(row)
            if key:
                groups[str(key)[:KEY_MAX]].append(row)
        for key, group in groups.items():
            group_visits = count_visits(_by_visitor(group))
            figures.append(
                {
                    "day": day,
                    "kind": kind,
                    "key": key,
                    "page_views": len(group),
                    "visits": sum(group_visits.values()),
                    "visitors": len(group_visits),
                }
            )
    session.execute(insert(DailyAggregate), figures)
    return len(figures)


def raw_days(session: Session, start: date, end: date) -> list[date]:
    """Days in [start, end] that still have raw page views."""
    first = session.scalar(
        select(func.min(PageView.at)).where(
            PageView.at >= _start(start), PageView.at < _start(end + timedelta(days=1))
        )
    )
    if first is None:
        return []
    first_day = max(first.astimezone(UTC).date() if first.tzinfo else first.date(), start)
    return [first_day + timedelta(days=i) for i in range((end - first_day).days + 1)]


def refresh_aggregates(session: Session, start: date, end: date, *, today: date) -> None:
    """Bring the aggregates of [start, end] up to date with the raw page views.

    Days before yesterday are final once aggregated; today and yesterday are recomputed on
    every call, since late beacons may still arrive for them.
    """
    done = set(
        session.scalars(
            select(DailyAggregate.day).where(
                DailyAggregate.kind == "total",
                DailyAggregate.day >= start,
                DailyAggregate.day <= end,
            )
        )
    )
    for day in raw_days(session, start, end):
        if day not in done or day >= today - timedelta(days=1):
            aggregate_day(session, day)


@dataclass(frozen=True)
class Summary:
    """The figures of one period, as shown on /staff/analytics and sent by the summary API."""

    start: date
    end: date
    page_views: int
    visits: int
    visitors: int
    returning_visitors: int
    daily: list[dict[str, Any]] = field(default_factory=list)
    frequency: list[dict[str, Any]] = field(default_factory=list)
    top_paths: list[dict[str, Any]] = field(default_factory=list)
    referrers: list[dict[str, Any]] = field(default_factory=list)
    hours: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["start"] = self.start.isoformat()
        data["end"] = self.end.isoformat()
        for entry in data["daily"]:
            entry["day"] = entry["day"].isoformat()
        return data


def _top(session: Session, kind: str, start: date, end: date, label: str) -> list[dict[str, Any]]:
    total = func.sum(DailyAggregate.page_views)
    result = session.execute(
        select(DailyAggregate.key, total)
        .where(DailyAggregate.kind == kind, DailyAggregate.day >= start, DailyAggregate.day <= end)
        .group_by(DailyAggregate.key)
        .order_by(total.desc(), DailyAggregate.key)
        .limit(TOP)
    )
    return [{label: key, "page_views": int(views)} for key, views in result]


def frequency(visits: Sequence[int]) -> list[dict[str, Any]]:
    """How many visitors came once, twice, 3-4 times ... in the period."""
    counts = Counter(label for n in visits for label, lo, hi in FREQUENCY_BUCKETS if lo <= n <= hi)
    return [
        {"visits": label, "visitors": counts.get(label, 0)} for label, _, _ in FREQUENCY_BUCKETS
    ]


# PostgreSQL counts visits where the rows are: a visit starts at a visitor's first page view
# and after every gap over 30 minutes. Only (visits, visitors) pairs come back, a few dozen
# rows however many page views the period holds.
_VISITS_SQL = text(
    """
    SELECT n, count(*) FROM (
        SELECT count(*) FILTER (WHERE prev IS NULL OR at - prev > interval '30 minutes') AS n
        FROM (
            SELECT coalesce(visitor_id, ip_truncated, '') AS vk, at,
                   lag(at) OVER (PARTITION BY coalesce(visitor_id, ip_truncated, '') ORDER BY at)
                   AS prev
            FROM page_view WHERE at >= :start AND at < :end
        ) AS ordered
        GROUP BY vk
    ) AS per_visitor
    GROUP BY n
    """
)


def visits_per_visitor(session: Session, start: datetime, end: datetime) -> Counter[int]:
    """How many visitors made n visits in [start, end): {n: visitors}."""
    if session.get_bind().dialect.name == "postgresql":
        result = session.execute(_VISITS_SQL, {"start": start, "end": end})
        return Counter({int(n): int(count) for n, count in result})
    return Counter(count_visits(_by_visitor(_rows(session, start, end))).values())


def summarise(session: Session, start: date, end: date, *, today: date) -> Summary:
    """The report for [start, end] (inclusive, UTC days)."""
    refresh_aggregates(session, start, end, today=today)
    by_day = {
        row.day: row
        for row in session.scalars(
            select(DailyAggregate).where(
                DailyAggregate.kind == "total",
                DailyAggregate.day >= start,
                DailyAggregate.day <= end,
            )
        )
    }
    daily: list[dict[str, Any]] = []
    for i in range((end - start).days + 1):
        day = start + timedelta(days=i)
        row = by_day.get(day)
        daily.append(
            {
                "day": day,
                "page_views": row.page_views if row else 0,
                "visits": row.visits if row else 0,
                "visitors": row.visitors if row else 0,
            }
        )
    visits = visits_per_visitor(session, _start(start), _start(end + timedelta(days=1)))
    hours = {entry["hour"]: entry["page_views"] for entry in _top_all_hours(session, start, end)}
    return Summary(
        start=start,
        end=end,
        page_views=sum(d["page_views"] for d in daily),
        visits=sum(d["visits"] for d in daily),
        visitors=sum(visits.values()),
        returning_visitors=sum(count for n, count in visits.items() if n > 1),
        daily=daily,
        frequency=frequency([n for n, count in visits.items() for _ in range(count)]),
        top_paths=_top(session, "path", start, end, "path"),
        referrers=_top(session, "referrer", start, end, "referrer"),
        hours=[{"hour": h, "page_views": hours.get(h, 0)} for h in range(24)],
    )


def _top_all_hours(session: Session, start: date, end: date) -> list[dict[str, Any]]:
    result = session.execute(
        select(DailyAggregate.key, func.sum(DailyAggregate.page_views))
        .where(
            DailyAggregate.kind == "hour", DailyAggregate.day >= start, DailyAggregate.day <= end
        )
        .group_by(DailyAggregate.key)
    )
    return [{"hour": int(key), "page_views": int(views)} for key, views in result]
