"""The 72-hour clock of Art. 33(1) GDPR: from awareness to the authority's notification."""

from __future__ import annotations

from datetime import datetime, timedelta

from schutz.breaches.models import Breach, Risk

NOTIFY_WITHIN = timedelta(hours=72)


def deadline(breach: Breach) -> datetime:
    """When the supervisory authority must have been notified: 72 hours after awareness."""
    return breach.aware_at + NOTIFY_WITHIN


def must_report(breach: Breach) -> bool:
    """Whether the authority is to be notified: unless the breach is unlikely to result in
    a risk to people's rights and freedoms (Art. 33(1), last half-sentence)."""
    return breach.risk != Risk.NONE.value


def is_overdue(breach: Breach, now: datetime) -> bool:
    """Reportable, not reported, and the 72 hours are over."""
    return must_report(breach) and breach.reported_at is None and now > deadline(breach)


def was_late(breach: Breach) -> bool:
    """Reported, but after the 72 hours (the notification then gives reasons)."""
    return breach.reported_at is not None and breach.reported_at > deadline(breach)
