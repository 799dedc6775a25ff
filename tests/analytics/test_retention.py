"""Raw page views older than the policy's retention are deleted; daily figures stay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from schutz.analytics.events import event_in, store_events
from schutz.analytics.models import AnalyticsEvent, DailyAggregate, PageView
from schutz.analytics.reports import summarise
from schutz.analytics.retention import delete_expired_page_views, retention_cutoff
from schutz.analytics.service import page_view, store_page_views
from schutz.config import BUNDLED_POLICY_DIR
from schutz.policy.loader import load_policy_set

POLICIES = load_policy_set(BUNDLED_POLICY_DIR)
POLICY = POLICIES.get("2026-11")  # raw_data_retention: P14M
NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)


def test_raw_page_views_past_retention_go_and_aggregates_stay(session: Session) -> None:
    old = NOW - timedelta(days=500)
    recent = NOW - timedelta(days=3)
    views = [
        page_view(path="/old", referrer=None, ip=None, visitor_id="O" * 22, now=old),
        page_view(path="/new", referrer=None, ip=None, visitor_id="N" * 22, now=recent),
    ]
    store_page_views(session, [v for v in views if v is not None])
    session.flush()

    deleted = delete_expired_page_views(session, POLICY, actor="system:retention", now=NOW)

    assert deleted == 1
    assert session.scalars(select(PageView.path)).all() == ["/new"]
    kept = session.scalar(
        select(DailyAggregate.page_views).where(
            DailyAggregate.day == old.date(), DailyAggregate.kind == "path"
        )
    )
    assert kept == 1
    report = summarise(session, old.date(), old.date(), today=NOW.date())
    assert report.page_views == 1
    assert report.top_paths == [{"path": "/old", "page_views": 1}]


def test_a_policy_without_a_retention_period_deletes_nothing(session: Session) -> None:
    old_policy = POLICIES.get("2013-06")

    assert retention_cutoff(old_policy, NOW) is None
    assert delete_expired_page_views(session, old_policy, actor="t", now=NOW) == 0
    assert session.scalar(select(func.count()).select_from(PageView)) == 0


def test_site_events_past_retention_go_too(session: Session) -> None:
    old, recent = NOW - timedelta(days=500), NOW - timedelta(days=3)
    events = [
        event_in(site="shop", name=n, props=None, path="/", visitor_id=None, now=at)
        for n, at in (("old", old), ("new", recent))
    ]
    store_events(session, [e for e in events if e is not None])
    session.flush()

    deleted = delete_expired_page_views(session, POLICY, actor="system:retention", now=NOW)

    assert deleted == 1
    assert session.scalars(select(AnalyticsEvent.name)).all() == ["new"]
