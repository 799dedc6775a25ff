"""Taking page views in: cleaning, truncating the address, and writing them in batches.

The address is cut down by `truncate_ip` before a `PageViewIn` exists, so nothing after
`page_view()` ever holds the full one (C23). Paths and referrers lose their query string
and fragment, where sign-up tokens or e-mail addresses might otherwise ride along.

`IngestBuffer` keeps the web edge fast: a beacon only appends to a bounded in-memory list,
and one background thread writes the list in a single batch INSERT every `flush_ms`
milliseconds, or sooner once `max_rows` are waiting. **Loss window:** if the process dies,
the page views received since the last flush are lost, that is at most one flush interval
(default 250 ms) or `max_rows` rows, whichever comes first; on a clean shutdown `close()`
writes them. When the database falls behind and `capacity` rows wait, new page views are
dropped and counted rather than letting memory grow.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, cast
from urllib.parse import urlsplit

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session, sessionmaker

from schutz.analytics.ip import truncate_ip
from schutz.analytics.models import PATH_MAX, PageView
from schutz.analytics.redact import redact_path

if TYPE_CHECKING:
    from schutz.analytics.events import EventIn

log = logging.getLogger(__name__)

PAGE_VIEW = cast("Table", PageView.__table__)
FLUSH_MS = 250
MAX_ROWS = 2000
CAPACITY = 100_000


@dataclass(frozen=True, slots=True)
class PageViewIn:
    """A page view ready to store: truncated address, clean path, no personal data."""

    at: datetime
    path: str
    referrer: str | None
    ip_truncated: str | None
    visitor_id: str | None
    site: str | None = None
    utm: str | None = None


def clean_path(raw: object) -> str | None:
    """The path alone (`/shop?x=1#y` becomes `/shop`), or None when it is not a local path."""
    if not isinstance(raw, str) or not raw.startswith("/") or raw.startswith("//"):
        return None
    if not raw.isprintable():
        return None
    return redact_path(urlsplit(raw).path)[:PATH_MAX]


def clean_referrer(raw: object) -> str | None:
    """`host/path` of an http(s) referrer without query or fragment; None for anything else."""
    if not isinstance(raw, str) or not raw or not raw.isprintable():
        return None
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return f"{parts.hostname}{redact_path(parts.path or '/')}"[:PATH_MAX]


def page_view(
    *,
    path: object,
    referrer: object,
    ip: str | None,
    visitor_id: str | None,
    now: datetime,
    site: str | None = None,
    utm: str | None = None,
) -> PageViewIn | None:
    """A storable page view, or None when the path is unusable; `ip` is truncated first.

    `site` names the embedding site of a cross-origin beacon; `utm` is the campaign
    parameters already cleaned by `analytics.campaigns.clean_utm`.
    """
    truncated = truncate_ip(ip)
    clean = clean_path(path)
    if clean is None:
        return None
    return PageViewIn(now, clean, clean_referrer(referrer), truncated, visitor_id, site, utm)


def store_page_views(session: Session, views: Sequence[PageViewIn]) -> int:
    """Insert `views` in one executemany statement (flushed with the session, not committed)."""
    if not views:
        return 0
    # The table's Core insert: a plain executemany, no ORM bookkeeping, no RETURNING.
    session.execute(
        insert(PAGE_VIEW),
        [
            {
                "at": v.at,
                "path": v.path,
                "referrer": v.referrer,
                "ip_truncated": v.ip_truncated,
                "visitor_id": v.visitor_id,
                "site": v.site,
                "utm": v.utm,
            }
            for v in views
        ],
    )
    return len(views)


@dataclass
class BufferStats:
    accepted: int = 0
    dropped: int = 0
    written: int = 0
    failed: int = 0


class IngestBuffer:
    """A bounded in-memory batch of page views, written by one background thread.

    See the module docstring for the loss window. The buffer holds truncated addresses
    only, never a full one.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        flush_ms: int = FLUSH_MS,
        max_rows: int = MAX_ROWS,
        capacity: int = CAPACITY,
    ) -> None:
        self._sessions = sessions
        self.flush_seconds = flush_ms / 1000
        self.max_rows = max_rows
        self.capacity = capacity
        self.stats = BufferStats()
        self._rows: list[PageViewIn | EventIn] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, view: PageViewIn | EventIn) -> bool:
        """Queue one page view (or site event); False (and counted) when the buffer is full."""
        with self._lock:
            if len(self._rows) >= self.capacity:
                self.stats.dropped += 1
                return False
            self._rows.append(view)
            self.stats.accepted += 1
            full = len(self._rows) >= self.max_rows
        if full:
            self._wake.set()
        if self._thread is None:
            self.start()
        return True

    def add_many(self, views: Iterable[PageViewIn]) -> None:
        for view in views:
            self.add(view)

    @property
    def pending(self) -> int:
        return len(self._rows)

    def flush(self) -> int:
        """Write everything waiting now, in this thread; the number of rows written."""
        with self._lock:
            rows, self._rows = self._rows, []
        if not rows:
            return 0
        try:
            with self._sessions() as session, session.begin():
                store_page_views(session, [r for r in rows if isinstance(r, PageViewIn)])
                events = [r for r in rows if not isinstance(r, PageViewIn)]
                if events:
                    from schutz.analytics.events import store_events

                    store_events(session, events)
        except Exception:
            # Counted and logged without row contents; the rows are lost, as documented.
            self.stats.failed += len(rows)
            log.exception("analytics: writing %d page views failed", len(rows))
            return 0
        self.stats.written += len(rows)
        return len(rows)

    def start(self) -> None:
        with self._lock:
            if self._thread is not None:
                return
            self._thread = threading.Thread(
                target=self._run, name="schutz-analytics-flush", daemon=True
            )
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.flush_seconds)
            self._wake.clear()
            self.flush()

    def close(self) -> None:
        """Stop the thread and write what is left (a clean shutdown loses nothing)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self.flush()
