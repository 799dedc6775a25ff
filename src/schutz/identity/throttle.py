"""Growing delays between staff sign-in attempts per (address, client network).

There is no account lock a stranger could trigger: failures slow down the network they come
from, for the address they name. After `FREE_ATTEMPTS` counted attempts the next one must wait
`FIRST_DELAY`, and each further one twice as long, up to `MAX_DELAY`. A success clears the
pair; a day without attempts forgets it.

Attempts are counted *before* the password is checked, with one conditional `UPDATE ...
RETURNING` per attempt: however many requests arrive at once, at most one passes per delay
and no increment is lost (invariant 7). The state lives in the database, so every app server
agrees.
"""

from __future__ import annotations

import hashlib
import math
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, case, delete, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from schutz.db import UtcDateTime
from schutz.identity.models import StaffLoginThrottle as T

FREE_ATTEMPTS = 5
FIRST_DELAY = timedelta(seconds=30)
MAX_DELAY = timedelta(minutes=15)
FORGET_AFTER = timedelta(days=1)


def account_key(email: str) -> str:
    """What the throttle stores for a sign-in address: a hash, the same for known and unknown."""
    normalised = email.strip().lower().encode("utf-8")
    return hashlib.sha256(b"schutz.staff-login\x00" + normalised).hexdigest()


def delay_after(attempts: int) -> timedelta | None:
    """How long the next attempt waits once `attempts` have been counted (None: no wait)."""
    if attempts < FREE_ATTEMPTS:
        return None
    delay: timedelta = FIRST_DELAY * 2 ** min(attempts - FREE_ATTEMPTS, 32)
    return min(delay, MAX_DELAY)


def _steps() -> int:
    """How many counts get a delay below the cap (the CASE branches of the update)."""
    steps = 0
    while (delay_after(FREE_ATTEMPTS + steps) or MAX_DELAY) < MAX_DELAY:
        steps += 1
    return steps


def _ensure_row(session: Session, account: str, network: str, now: datetime) -> None:
    """Insert the pair's row unless it exists (ON CONFLICT DO NOTHING: races are harmless)."""
    values = {
        "account": account,
        "network": network,
        "failures": 0,
        "last_attempt_at": now,
        "blocked_until": None,
    }
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        pg = postgresql.insert(T).values(**values).on_conflict_do_nothing()
        session.execute(pg)
    else:
        lite = sqlite.insert(T).values(**values).on_conflict_do_nothing()
        session.execute(lite)


def _blocked_until(now: datetime, fresh: ColumnElement[bool]) -> ColumnElement[datetime | None]:
    """The new `blocked_until`, from the count this attempt makes (failures + 1)."""
    count = T.failures + 1
    whens: list[tuple[ColumnElement[bool], object]] = [(~fresh, None)]
    for step in range(_steps()):
        attempts = FREE_ATTEMPTS + step
        delay = delay_after(attempts)
        whens.append((count == attempts, literal(now + delay, UtcDateTime) if delay else None))
    whens.append((count >= FREE_ATTEMPTS, literal(now + MAX_DELAY, UtcDateTime)))
    return case(*whens, else_=None)


def count_attempt(session: Session, account: str, network: str, *, now: datetime) -> int | None:
    """Count one attempt for (account, network) if it may go ahead now.

    Returns the attempt's number since the last success, or None when the pair must wait:
    then no password may be checked. The update touches exactly one row or none.
    """
    _ensure_row(session, account, network, now)
    fresh = T.last_attempt_at >= now - FORGET_AFTER
    counted = session.execute(
        update(T)
        .where(
            T.account == account,
            T.network == network,
            or_(T.blocked_until.is_(None), T.blocked_until <= now),
        )
        .values(
            failures=case((fresh, T.failures + 1), else_=1),
            last_attempt_at=now,
            blocked_until=_blocked_until(now, fresh),
        )
        .returning(T.failures)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    return counted


def seconds_to_wait(session: Session, account: str, network: str, *, now: datetime) -> int:
    """Whole seconds until the pair may try again (at least 1): the `Retry-After` value."""
    until = session.scalars(
        select(T.blocked_until).where(T.account == account, T.network == network)
    ).one_or_none()
    if until is None:
        return 1
    return max(1, math.ceil((until - now).total_seconds()))


def clear(session: Session, account: str, network: str, *, now: datetime) -> None:
    """A success: forget this pair's failures, and every pair idle for a day."""
    session.execute(
        delete(T)
        .where(
            or_(
                (T.account == account) & (T.network == network),
                T.last_attempt_at < now - FORGET_AFTER,
            )
        )
        .execution_options(synchronize_session=False)
    )
