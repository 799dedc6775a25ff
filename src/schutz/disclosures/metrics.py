"""Counts of disclosures for operators' gauges."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from schutz.disclosures.models import Disclosure


def dead_disclosures(session: Session) -> int:
    """Disclosures whose delivery gave up after its retries."""
    found = session.scalar(
        select(func.count()).select_from(Disclosure).where(Disclosure.status == "dead")
    )
    return found or 0
