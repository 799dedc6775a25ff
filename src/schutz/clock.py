"""The one source of "now": timezone-aware UTC, so services can take `now` and tests fix it."""

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)
