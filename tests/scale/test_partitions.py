"""Page views on PostgreSQL are kept by month: retention drops whole months, reports still
read every day, and a month that had no partition yet loses no row when it gets one."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from schutz.analytics.models import PageView
from schutz.analytics.partitions import ensure_partitions, month_partitions
from schutz.analytics.reports import summarise
from schutz.analytics.retention import delete_expired_page_views, retention_cutoff
from schutz.analytics.service import page_view, store_page_views
from schutz.audit.models import AuditEntry
from schutz.config import BUNDLED_POLICY_DIR
from schutz.db import make_session_factory
from schutz.policy.loader import load_policy_set

POLICY = load_policy_set(BUNDLED_POLICY_DIR).get("2026-11")  # raw_data_retention: P14M
NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)


@pytest.fixture
def pg_session(pg_engine: Engine) -> Iterator[Session]:
    with make_session_factory(pg_engine)() as session:
        yield session


def _views(session: Session, *days: datetime) -> None:
    made = [page_view(path="/p", referrer=None, ip=None, visitor_id="V" * 22, now=d) for d in days]
    store_page_views(session, [v for v in made if v is not None])
    session.flush()


def _partition_of(session: Session, at: datetime) -> str:
    found = session.scalar(
        text("SELECT tableoid::regclass::text FROM page_view WHERE at = :at"), {"at": at}
    )
    return str(found)


def test_a_row_of_a_month_without_partition_moves_into_it_when_made(pg_session: Session) -> None:
    far = datetime(2031, 3, 9, 8, tzinfo=UTC)
    _views(pg_session, far)
    assert _partition_of(pg_session, far) == "page_view_pdefault"

    created = ensure_partitions(pg_session.connection(), far.date(), far.date())

    assert created == ["page_view_p203103"]
    assert _partition_of(pg_session, far) == "page_view_p203103"
    assert pg_session.scalar(select(func.count()).select_from(PageView)) == 1
    pg_session.rollback()  # DDL is transactional: the next test finds the schema as it was


def test_retention_drops_whole_months_and_reports_keep_their_days(pg_session: Session) -> None:
    old = [datetime(2025, 6, d, 10, tzinfo=UTC) for d in (3, 4, 5)]
    cutoff = retention_cutoff(POLICY, NOW)
    assert cutoff is not None
    edge = cutoff - timedelta(hours=1)  # the cutoff falls inside this row's month
    recent = NOW - timedelta(days=2)
    ensure_partitions(pg_session.connection(), date(2025, 6, 1), NOW.date())
    _views(pg_session, *old, edge, recent)

    deleted = delete_expired_page_views(pg_session, POLICY, actor="system:retention", now=NOW)

    months = month_partitions(pg_session.connection())
    assert deleted == 4
    assert date(2025, 6, 1) not in months
    assert edge.date().replace(day=1) in months  # partly kept: its old rows went one by one
    assert pg_session.scalars(select(PageView.at)).all() == [recent]
    entry = pg_session.scalars(
        select(AuditEntry).where(AuditEntry.action == "analytics.retention")
    ).one()
    assert "page_view_p202506" in entry.details["months_dropped"]
    report = summarise(pg_session, date(2025, 6, 1), date(2025, 6, 30), today=NOW.date())
    assert report.page_views == 3
    pg_session.rollback()
