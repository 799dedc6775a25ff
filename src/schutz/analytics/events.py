"""Events sites report with `Schutz.track(name, props)`: cleaned, then stored in batches.

A name is up to 64 characters of letters, digits and `_ . : -`; properties are at most 8,
keys up to 40 such characters, values numbers, booleans or strings up to 64 printable
characters. A value that looks like an e-mail address or a long run of digits (a phone or
card number) is dropped, so a careless `track("signup", {email})` stores no personal data.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session

from schutz.analytics.models import AnalyticsEvent
from schutz.analytics.redact import looks_personal
from schutz.analytics.service import clean_path

EVENT = cast("Table", AnalyticsEvent.__table__)
NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
PROP_KEY = re.compile(r"^[A-Za-z0-9_.:-]{1,40}$")
MAX_PROPS = 8
VALUE_MAX = 64


@dataclass(frozen=True, slots=True)
class EventIn:
    at: datetime
    site: str
    name: str
    path: str | None
    props: str | None
    visitor_id: str | None


def clean_props(raw: object) -> str | None:
    """The storable properties as canonical JSON, or None when none are left."""
    if not isinstance(raw, dict):
        return None
    kept: dict[str, object] = {}
    for key, value in raw.items():
        if len(kept) >= MAX_PROPS:
            break
        if not isinstance(key, str) or not PROP_KEY.fullmatch(key):
            continue
        if isinstance(value, bool) or (isinstance(value, int | float) and abs(value) < 1e9):
            kept[key] = value
        elif isinstance(value, str) and value.isprintable() and not looks_personal(value):
            kept[key] = value[:VALUE_MAX]
    return json.dumps(kept, sort_keys=True, separators=(",", ":")) if kept else None


def event_in(
    *, site: str, name: object, props: object, path: object, visitor_id: str | None, now: datetime
) -> EventIn | None:
    """A storable event, or None when its name is unusable."""
    if not isinstance(name, str) or not NAME.fullmatch(name):
        return None
    return EventIn(now, site, name, clean_path(path), clean_props(props), visitor_id)


def store_events(session: Session, events: Sequence[EventIn]) -> int:
    """Insert `events` in one executemany statement (flushed, not committed)."""
    if events:
        session.execute(
            insert(EVENT),
            [
                {
                    "at": e.at,
                    "site": e.site,
                    "name": e.name,
                    "path": e.path,
                    "props": e.props,
                    "visitor_id": e.visitor_id,
                }
                for e in events
            ],
        )
    return len(events)
