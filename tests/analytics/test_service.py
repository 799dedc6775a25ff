"""Taking page views in: clean paths and referrers, truncated addresses, batched writes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, event, func, select
from sqlalchemy.orm import Session

from schutz.analytics.models import PageView
from schutz.analytics.service import IngestBuffer, clean_path, clean_referrer, page_view
from schutz.db import make_session_factory

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("/shop", "/shop"),
        ("/newsletter/confirm?token=secret#x", "/newsletter/confirm"),
        ("https://evil.example/x", None),
        ("//evil.example/x", None),
        ("", None),
        (42, None),
        ("/a\nb", None),
    ],
)
def test_paths_lose_query_and_fragment(raw: object, clean: str | None) -> None:
    assert clean_path(raw) == clean


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("https://www.example.org/search?q=me%40mail.example", "www.example.org/search"),
        ("http://news.example", "news.example/"),
        ("javascript:alert(1)", None),
        ("", None),
        (None, None),
    ],
)
def test_referrers_keep_host_and_path_only(raw: object, clean: str | None) -> None:
    assert clean_referrer(raw) == clean


def test_the_address_is_truncated_before_a_page_view_exists() -> None:
    view = page_view(path="/", referrer=None, ip="203.0.113.77", visitor_id=None, now=NOW)

    assert view is not None
    assert view.ip_truncated == "203.0.113.0"
    assert "203.0.113.77" not in repr(view)


def test_ipv6_keeps_48_bits() -> None:
    view = page_view(path="/", referrer=None, ip="2001:db8:abcd:12::1", visitor_id=None, now=NOW)

    assert view is not None
    assert view.ip_truncated == "2001:db8:abcd::"


def test_the_buffer_writes_in_batches_and_loses_nothing_on_close(engine: Engine) -> None:
    buffer = IngestBuffer(make_session_factory(engine), flush_ms=10_000, max_rows=50)
    views = [
        page_view(path=f"/p{i}", referrer=None, ip="198.51.100.9", visitor_id="v" * 22, now=NOW)
        for i in range(120)
    ]

    buffer.add_many(v for v in views if v is not None)
    buffer.close()

    with make_session_factory(engine)() as session:
        assert session.scalar(select(func.count()).select_from(PageView)) == 120
    assert buffer.stats.written == 120
    assert buffer.pending == 0


def test_a_full_buffer_drops_and_counts(session: Session) -> None:
    buffer = IngestBuffer(lambda: session, capacity=3)  # type: ignore[arg-type]
    view = page_view(path="/", referrer=None, ip=None, visitor_id=None, now=NOW)
    assert view is not None
    buffer._thread = object()  # type: ignore[assignment]  # no background writer here

    results = [buffer.add(view) for _ in range(5)]

    assert results == [True, True, True, False, False]
    assert buffer.stats.dropped == 2


def test_a_batch_of_page_views_reaches_the_driver_a_thousand_rows_per_call(
    engine: Engine,
) -> None:
    """One driver call per row gave up the GIL per row: beside a busy event loop the batch
    crawled (`db._many_rows_per_statement`). 2,500 rows go as three multi-row INSERTs."""
    calls: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_rest: object) -> None:
        calls.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    # No write by size or time while the rows go in: the test's flush writes all of them.
    buffer = IngestBuffer(make_session_factory(engine), flush_ms=3_600_000, max_rows=10_000)
    now = datetime.now(UTC)
    views = [
        page_view(path=f"/p{i}", referrer=None, ip="203.0.113.9", visitor_id=None, now=now)
        for i in range(2500)
    ]
    buffer.add_many(v for v in views if v is not None)
    assert buffer.flush() == 2500
    buffer.close()
    event.remove(engine, "before_cursor_execute", count)
    assert sum(statement.startswith("INSERT INTO page_view") for statement in calls) == 3
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(PageView)) == 2500
