"""Deleting raw page views and site events once the policy's analytics retention has passed;
aggregates stay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from schutz.analytics.models import AnalyticsEvent, PageView
from schutz.analytics.partitions import drop_months_before
from schutz.analytics.reports import refresh_aggregates
from schutz.audit import service as audit
from schutz.policy.schema import Policy, duration_days


def retention_cutoff(policy: Policy, now: datetime) -> datetime | None:
    """Raw page views before this moment are due for deletion; None if the policy sets no limit."""
    analytics = policy.analytics
    if analytics is None or analytics.raw_data_retention is None:
        return None
    days = duration_days(analytics.raw_data_retention)
    return None if days is None else now - timedelta(days=days)


def count_expired_page_views(session: Session, policy: Policy, *, now: datetime) -> int:
    """How many raw page views and site events `delete_expired_page_views` would delete."""
    cutoff = retention_cutoff(policy, now)
    if cutoff is None:
        return 0
    views = session.scalar(select(func.count()).where(PageView.at < cutoff)) or 0
    events = session.scalar(select(func.count()).where(AnalyticsEvent.at < cutoff)) or 0
    return int(views) + int(events)


def delete_expired_page_views(
    session: Session, policy: Policy, *, actor: str, now: datetime
) -> int:
    """Delete raw page views older than the policy's `raw_data_retention`; the count deleted.

    The days concerned are aggregated first, so the reports keep their daily figures
    (Art. 5(1)(e) GDPR, storage limitation: only the raw rows carry per-visit detail).
    """
    cutoff = retention_cutoff(policy, now)
    if cutoff is None:
        return 0
    # Events from embedding sites (Schutz.track) are raw data too, kept no longer.
    events = session.execute(delete(AnalyticsEvent).where(AnalyticsEvent.at < cutoff))
    gone = int(getattr(events, "rowcount", 0) or 0)
    oldest = session.scalar(select(func.min(PageView.at)).where(PageView.at < cutoff))
    deleted, months = 0, list[str]()
    if oldest is not None:
        refresh_aggregates(session, oldest.astimezone(UTC).date(), cutoff.date(), today=now.date())
        # PostgreSQL: whole months go with one DROP TABLE; the rest row by row.
        deleted, months = drop_months_before(session.connection(), cutoff)
        result = session.execute(delete(PageView).where(PageView.at < cutoff))
        deleted += int(getattr(result, "rowcount", 0) or 0)
    if not deleted and not gone:
        return 0
    audit.record(
        session,
        actor=actor,
        action="analytics.retention",
        purpose=policy.analytics.purpose if policy.analytics else None,
        details={
            "deleted": deleted,
            "events_deleted": gone,
            "months_dropped": months,
            "before": cutoff.isoformat(),
        },
        now=now,
    )
    return deleted + gone
