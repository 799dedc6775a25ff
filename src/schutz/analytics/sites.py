"""Reports per embedding site: page views, visitors, top pages, campaigns and events.

Computed from the raw rows (`page_view.site`, `analytics_event`), so they cover the raw-data
retention window; the CSV export (RFC 4180) carries the same figures by day.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from schutz.analytics.models import AnalyticsEvent, PageView

TOP = 10


@dataclass(frozen=True)
class SiteReport:
    site: str
    page_views: int
    visitors: int
    top_paths: list[tuple[str, int]] = field(default_factory=list)
    campaigns: list[tuple[str, int]] = field(default_factory=list)
    events: list[tuple[str, int]] = field(default_factory=list)


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    return datetime.combine(start, time.min, tzinfo=UTC), datetime.combine(
        end + timedelta(days=1), time.min, tzinfo=UTC
    )


def site_report(session: Session, site: str, start: date, end: date) -> SiteReport:
    """One site's figures for [start, end] (inclusive, UTC days)."""
    lo, hi = _bounds(start, end)
    views = (PageView.site == site, PageView.at >= lo, PageView.at < hi)
    total, visitors = session.execute(
        select(func.count(), func.count(distinct(PageView.visitor_id))).where(*views)
    ).one()
    count = func.count()
    paths = session.execute(
        select(PageView.path, count).where(*views).group_by(PageView.path)
        .order_by(count.desc(), PageView.path).limit(TOP)
    ).all()  # fmt: skip
    campaigns = session.execute(
        select(PageView.utm, count).where(*views, PageView.utm.is_not(None))
        .group_by(PageView.utm).order_by(count.desc(), PageView.utm).limit(TOP)
    ).all()  # fmt: skip
    events = session.execute(
        select(AnalyticsEvent.name, count)
        .where(AnalyticsEvent.site == site, AnalyticsEvent.at >= lo, AnalyticsEvent.at < hi)
        .group_by(AnalyticsEvent.name).order_by(count.desc(), AnalyticsEvent.name).limit(TOP)
    ).all()  # fmt: skip
    return SiteReport(
        site,
        int(total),
        int(visitors),
        [(str(p), int(n)) for p, n in paths],
        [(str(u), int(n)) for u, n in campaigns],
        [(str(e), int(n)) for e, n in events],
    )


def site_reports(
    session: Session, sites: Iterable[str], start: date, end: date
) -> list[SiteReport]:
    return [site_report(session, s, start, end) for s in sorted(sites)]


CSV_HEADER = ("day", "site", "kind", "key", "count", "visitors")


def _safe(cell: str) -> str:
    """A cell a spreadsheet will not run as a formula (OWASP CSV injection)."""
    return f"'{cell}" if cell[:1] in ("=", "+", "-", "@", "\t", "\r") else cell


def site_csv(session: Session, site: str, start: date, end: date) -> str:
    """`day,site,kind,key,count,visitors`: kind is `path`, `campaign` or `event`."""
    lo, hi = _bounds(start, end)
    day = func.date(PageView.at)
    rows: list[tuple[str, str, str, int, int]] = []
    for kind, column in (("path", PageView.path), ("campaign", PageView.utm)):
        result = session.execute(
            select(day, column, func.count(), func.count(distinct(PageView.visitor_id)))
            .where(PageView.site == site, PageView.at >= lo, PageView.at < hi, column.is_not(None))
            .group_by(day, column)
        )
        rows += [(str(d), kind, str(k), int(n), int(v)) for d, k, n, v in result]
    eday = func.date(AnalyticsEvent.at)
    result = session.execute(
        select(
            eday, AnalyticsEvent.name, func.count(), func.count(distinct(AnalyticsEvent.visitor_id))
        )
        .where(AnalyticsEvent.site == site, AnalyticsEvent.at >= lo, AnalyticsEvent.at < hi)
        .group_by(eday, AnalyticsEvent.name)
    )
    rows += [(str(d), "event", str(k), int(n), int(v)) for d, k, n, v in result]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for d, kind, key, n, v in sorted(rows):
        writer.writerow((d[:10], site, kind, _safe(key), n, v))
    return out.getvalue()


def site_visitor_id(key: bytes, consent_visitor: str) -> str:
    """The analytics id of an embedding site's visitor: a keyed hash of their consent id, so
    page views and the consent ledger share no key for anyone without `key` (the link-signing
    secret); a rotation of that secret starts counting visitors afresh."""
    return hmac.new(key, f"analytics:{consent_visitor}".encode(), hashlib.sha256).hexdigest()[:22]
