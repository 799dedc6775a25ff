"""Staff sign-in slows down guessing per (address, network) and never locks an account.

The parallel tests run real threads, each with its own database session, on SQLite and
PostgreSQL, and step through a sign-in exactly as the sign-in page does: count the attempt
and commit, check the password, settle and commit.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from schutz.audit.models import AuditEntry
from schutz.db import make_session_factory
from schutz.errors import Unauthenticated
from schutz.identity import service, throttle
from schutz.identity.models import StaffLoginThrottle, StaffUser
from schutz.identity.service import Throttled

NOW = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
EMAIL = "ada.admin@shop.example"
PASSWORD = "a long enough secret"
STRANGER = "198.51.100.0"
OFFICE = "203.0.113.0"


@pytest.fixture
def admin(session: Session) -> str:
    user = service.add_staff(
        session, email=EMAIL, role="admin", password=PASSWORD, actor="cli", now=NOW
    )
    session.commit()
    return user.id


def attempt(
    session: Session, password: str, *, network: str, at: datetime, email: str = EMAIL
) -> str:
    """One sign-in: "ok", "wrong", or "wait <seconds>"."""
    try:
        service.authenticate_staff(session, email, password, at, network=network)
    except Throttled as exc:
        session.rollback()
        return f"wait {exc.retry_after}"
    except Unauthenticated:
        session.commit()
        return "wrong"
    session.commit()
    return "ok"


def fail_five_times(session: Session, *, network: str, email: str = EMAIL) -> None:
    for second in range(5):
        at = NOW + timedelta(seconds=second)
        assert attempt(session, "wrong", network=network, at=at, email=email) == "wrong"


def test_after_five_failures_the_next_try_from_that_network_waits(
    session: Session, admin: str
) -> None:
    fail_five_times(session, network=STRANGER)
    last = NOW + timedelta(seconds=4)
    # Even the right password is not checked while the network waits.
    assert attempt(session, PASSWORD, network=STRANGER, at=last) == "wait 30"
    assert attempt(session, PASSWORD, network=STRANGER, at=last + timedelta(seconds=30)) == "ok"


def test_each_further_failure_doubles_the_wait_up_to_fifteen_minutes(
    session: Session, admin: str
) -> None:
    fail_five_times(session, network=STRANGER)
    at, waits = NOW + timedelta(seconds=4), []
    for _ in range(7):
        answer = attempt(session, PASSWORD, network=STRANGER, at=at)
        seconds = int(answer.removeprefix("wait "))
        waits.append(seconds)
        at += timedelta(seconds=seconds)
        assert attempt(session, "wrong", network=STRANGER, at=at) == "wrong"
    assert waits == [30, 60, 120, 240, 480, 900, 900]


def test_a_stranger_cannot_keep_the_owner_out(session: Session, admin: str) -> None:
    fail_five_times(session, network=STRANGER)
    for minute in range(1, 30):
        attempt(session, "wrong", network=STRANGER, at=NOW + timedelta(minutes=minute))
    assert attempt(session, PASSWORD, network=OFFICE, at=NOW + timedelta(minutes=30)) == "ok"


def test_an_unknown_address_is_slowed_down_exactly_like_a_known_one(
    session: Session, admin: str
) -> None:
    unknown = "nobody@shop.example"
    fail_five_times(session, network=STRANGER, email=unknown)
    fail_five_times(session, network=OFFICE)
    at = NOW + timedelta(seconds=10)
    assert attempt(session, "x", network=STRANGER, at=at, email=unknown) == "wait 24"
    assert attempt(session, "x", network=OFFICE, at=at) == "wait 24"
    stored = " ".join(session.scalars(select(StaffLoginThrottle.account)))
    assert "nobody" not in stored
    assert "ada" not in stored


def test_a_success_forgets_the_network_s_failures(session: Session, admin: str) -> None:
    for second in range(4):
        attempt(session, "wrong", network=OFFICE, at=NOW + timedelta(seconds=second))
    assert attempt(session, PASSWORD, network=OFFICE, at=NOW + timedelta(seconds=5)) == "ok"
    for second in range(6, 10):
        assert (
            attempt(session, "wrong", network=OFFICE, at=NOW + timedelta(seconds=second)) == "wrong"
        )
    assert attempt(session, PASSWORD, network=OFFICE, at=NOW + timedelta(seconds=11)) == "ok"
    assert session.get(StaffUser, admin).failed_logins == 0  # type: ignore[union-attr]


def test_failures_are_forgotten_a_day_after_the_last_try(session: Session, admin: str) -> None:
    fail_five_times(session, network=STRANGER)
    later = NOW + timedelta(days=1, seconds=5)
    for minute in range(4):
        at = later + timedelta(minutes=minute)
        assert attempt(session, "wrong", network=STRANGER, at=at) == "wrong"


def test_failures_are_audited_without_the_address(session: Session, admin: str) -> None:
    fail_five_times(session, network=STRANGER)
    entries = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "staff.login_failed").order_by(AuditEntry.seq)
    ).all()
    assert [e.details["attempt"] for e in entries] == [1, 2, 3, 4, 5]
    assert entries[-1].details["next_try_after_s"] == 30
    assert EMAIL not in str([e.details for e in entries])


# --- many attempts at once -------------------------------------------------------------


def parallel_attempts(engine: Engine, networks: list[str]) -> list[str]:
    """Wrong passwords for EMAIL, all at once, one thread and session per attempt."""
    sessions = make_session_factory(engine)

    def one(network: str) -> str:
        with sessions() as session:
            try:
                counted = service.begin_sign_in(session, EMAIL, network=network, now=NOW)
            except Throttled:
                session.rollback()
                return "wait"
            session.commit()
            matched = counted.password_matches("wrong")
            try:
                service.finish_sign_in(session, counted, matched=matched, password="wrong", now=NOW)
            except Unauthenticated:
                session.commit()
                return "wrong"
            return "ok"

    with ThreadPoolExecutor(max_workers=len(networks)) as pool:
        return list(pool.map(one, networks))


def test_parallel_failures_from_one_network_let_only_five_checks_through(
    engine: Engine, session: Session, admin: str
) -> None:
    answers = parallel_attempts(engine, [STRANGER] * 40)
    assert sorted(answers) == ["wait"] * 35 + ["wrong"] * 5
    row = session.scalars(select(StaffLoginThrottle)).one()
    assert row.failures == 5
    assert row.blocked_until == NOW + throttle.FIRST_DELAY


def test_parallel_failures_lose_no_count(engine: Engine, session: Session, admin: str) -> None:
    networks = [f"192.0.2.{n}" for n in range(40)]  # forty networks, five tries each free
    assert parallel_attempts(engine, networks) == ["wrong"] * 40
    assert session.get(StaffUser, admin).failed_logins == 40  # type: ignore[union-attr]
    failed = session.scalars(
        select(AuditEntry.details).where(AuditEntry.action == "staff.login_failed")
    ).all()
    assert sorted(d["failures"] for d in failed) == list(range(1, 41))
