"""The analytics tables: raw page views (kept for the policy's retention) and daily aggregates.

Neither table has a column that could join it to a data subject (clauses C14, C23): the
visitor id is the random value of the analytics cookie and the address is truncated before
it gets here.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from schutz.db import Base, UtcDateTime

RowId = BigInteger().with_variant(Integer(), "sqlite")
PATH_MAX = 512
KEY_MAX = 512


class PageView(Base):
    """One page view as the beacon reported it, without anything that names a person."""

    __tablename__ = "page_view"
    __table_args__ = (Index("ix_page_view_at", "at"), Index("ix_page_view_site_at", "site", "at"))

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, comment="When the server received it (UTC).")
    path: Mapped[str] = mapped_column(
        String(PATH_MAX), comment="Path of the page, without query string or fragment."
    )
    referrer: Mapped[str | None] = mapped_column(
        String(PATH_MAX), comment="Host and path of the referring page, without query; or NULL."
    )
    ip_truncated: Mapped[str | None] = mapped_column(
        String(45), comment="Client address cut to IPv4 /24 or IPv6 /48; never the full one."
    )
    visitor_id: Mapped[str | None] = mapped_column(
        String(64), comment="Random value of the analytics cookie; joins to nothing (C14)."
    )
    site: Mapped[str | None] = mapped_column(
        String(40),
        comment="Key of the embedding site the beacon came from; NULL for Schutz's own pages.",
    )
    utm: Mapped[str | None] = mapped_column(
        String(512),
        comment="Allow-listed utm_* parameters of the page's address (query form); others dropped.",
    )


class AnalyticsEvent(Base):
    """One event an embedding site reported with `Schutz.track(name, props)`."""

    __tablename__ = "analytics_event"
    __table_args__ = (Index("ix_analytics_event_site_at", "site", "at"),)

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, comment="When received (UTC).")
    site: Mapped[str] = mapped_column(String(40), comment="Key of the embedding site.")
    name: Mapped[str] = mapped_column(String(64), comment="Event name given to Schutz.track.")
    path: Mapped[str | None] = mapped_column(
        String(PATH_MAX), comment="Path of the page, no query."
    )
    props: Mapped[str | None] = mapped_column(
        Text,
        comment="Up to 8 short properties as JSON; values like e-mail addresses are dropped.",
    )
    visitor_id: Mapped[str | None] = mapped_column(
        String(64), comment="Hash of the visitor's random consent id; joins to nothing (C14)."
    )


class DailyAggregate(Base):
    """One figure for one day, computed from the raw page views; outlives their deletion.

    `kind` says what `key` is: `total` (key empty), `path`, `referrer` or `hour` (00-23).
    """

    __tablename__ = "analytics_daily"

    day: Mapped[date] = mapped_column(Date, primary_key=True, comment="The day (UTC).")
    kind: Mapped[str] = mapped_column(
        String(16), primary_key=True, comment="total, path, referrer or hour."
    )
    key: Mapped[str] = mapped_column(
        String(KEY_MAX), primary_key=True, comment="The path, referrer or hour; empty for total."
    )
    page_views: Mapped[int] = mapped_column(Integer, comment="Page views that day.")
    visits: Mapped[int] = mapped_column(Integer, comment="Visits (30 minutes idle ends one).")
    visitors: Mapped[int] = mapped_column(Integer, comment="Distinct visitors that day.")
