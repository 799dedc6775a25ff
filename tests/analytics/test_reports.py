"""Reports: visits, visitors, returning visitors, frequency, paths, referrers, hours."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy.orm import Session

from schutz.analytics.reports import count_visits, frequency, summarise
from schutz.analytics.service import page_view, store_page_views

DAY = date(2026, 11, 20)


def at(hour: int, minute: int = 0, day: date = DAY) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def store(session: Session, *views: tuple[datetime, str, str | None, str]) -> None:
    rows = [
        page_view(path=path, referrer=ref, ip="192.0.2.1", visitor_id=vid, now=when)
        for when, path, ref, vid in views
    ]
    store_page_views(session, [r for r in rows if r is not None])
    session.flush()


def test_thirty_minutes_of_silence_ends_a_visit() -> None:
    times = {"a": [at(9), at(9, 20), at(9, 51), at(14)], "b": [at(10)]}

    assert count_visits(times) == {"a": 3, "b": 1}


def test_frequency_buckets_count_visitors() -> None:
    buckets = {b["visits"]: b["visitors"] for b in frequency([1, 1, 2, 3, 12])}

    assert buckets == {"1": 2, "2": 1, "3-4": 1, "5-9": 0, "10+": 1}


def test_the_summary_counts_what_happened(session: Session) -> None:
    alice, bob = "A" * 22, "B" * 22
    store(
        session,
        (at(9), "/privacy", "https://search.example/?q=x", alice),
        (at(9, 5), "/shop", None, alice),
        (at(15), "/shop", None, alice),
        (at(9, 30), "/shop", "https://news.example/a", bob),
        (at(11, day=DAY + timedelta(days=1)), "/shop", None, bob),
    )

    summary = summarise(session, DAY, DAY + timedelta(days=1), today=DAY + timedelta(days=1))

    assert summary.page_views == 5
    assert summary.visits == 4
    assert summary.visitors == 2
    assert summary.returning_visitors == 2
    assert summary.daily[0] == {"day": DAY, "page_views": 4, "visits": 3, "visitors": 2}
    assert summary.top_paths[0] == {"path": "/shop", "page_views": 4}
    assert {r["referrer"] for r in summary.referrers} == {"search.example/", "news.example/a"}
    hours = {h["hour"]: h["page_views"] for h in summary.hours}
    assert hours[9] == 3
    assert hours[15] == 1
    assert hours[11] == 1
    data = summary.as_json()
    assert data["daily"][1]["day"] == "2026-11-21"
