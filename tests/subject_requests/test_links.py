"""Links work once, under concurrency too, and public look-ups keep the address sealed.

Real threads, each with its own connection, on SQLite and PostgreSQL: the database decides
which open wins, so exactly one does.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from records import take_order
from schutz.db import make_session_factory
from schutz.errors import Conflict, InvalidInput
from schutz.policy.engine import Engine as Rules
from schutz.subject_requests import account, deferred, service
from schutz.subject_requests.models import AccountToken, PendingLookup
from schutz.subject_requests.tokens import Links
from schutz.vault.keys import Keyring

from .builders import ADA, handle_lookups, link_token, mails_to
from .conftest import NOW

PARALLEL = 20


def _race(engine: Engine, attempt: Callable[[Session], object]) -> list[object]:
    """Run `attempt` in PARALLEL threads at once, each in its own session; commit each
    success. Returns what each thread got (a result or the exception it raised)."""
    factory = make_session_factory(engine)
    start = threading.Barrier(PARALLEL)
    results: list[object] = []
    lock = threading.Lock()

    def run() -> None:
        with factory() as session:
            start.wait()
            try:
                outcome: object = attempt(session)
                session.commit()
            except (InvalidInput, Conflict) as exc:
                session.rollback()
                outcome = exc
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=run) for _ in range(PARALLEL)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def _sign_in_token(session: Session, rules: Rules, keyring: Keyring, links: Links) -> str:
    take_order(session, rules, keyring, ADA, now=NOW)
    account.request_link(
        session, rules.policy, keyring, links, email=ADA["email"], lang="en", now=NOW
    )
    assert handle_lookups(session, rules, keyring) == 1
    session.commit()
    return link_token(mails_to(session, keyring, ADA["email"])[-1]["body"], "/account/login")


def test_sign_in_link_opens_exactly_one_session(
    engine: Engine, session: Session, rules: Rules, keyring: Keyring, links: Links
) -> None:
    token = _sign_in_token(session, rules, keyring, links)

    results = _race(engine, lambda s: account.open_session(s, token, now=NOW))

    cookies = [r for r in results if isinstance(r, str)]
    assert len(cookies) == 1
    assert all(isinstance(r, InvalidInput) for r in results if not isinstance(r, str))
    sessions = session.scalar(
        select(func.count()).select_from(AccountToken).where(AccountToken.kind == "session")
    )
    assert sessions == 1


def test_sign_in_link_is_spent_by_its_first_use_and_lapses_after_30_minutes(
    session: Session, rules: Rules, keyring: Keyring, links: Links
) -> None:
    token = _sign_in_token(session, rules, keyring, links)

    with pytest.raises(InvalidInput):
        account.open_session(session, token, now=NOW + timedelta(minutes=30))
    account.open_session(session, token, now=NOW + timedelta(minutes=29))
    with pytest.raises(InvalidInput):
        account.open_session(session, token, now=NOW + timedelta(minutes=29))


def test_verification_link_is_single_use(
    engine: Engine, session: Session, rules: Rules, keyring: Keyring, links: Links
) -> None:
    take_order(session, rules, keyring, ADA, now=NOW)
    service.submit(
        session, rules, keyring, links, kind="access", email=ADA["email"], channel="api",
        actor="apikey:shop", now=NOW,
    )  # fmt: skip
    handle_lookups(session, rules, keyring)
    session.commit()
    token = link_token(mails_to(session, keyring, ADA["email"])[-1]["body"], "/requests/verify")

    results = _race(
        engine, lambda s: service.verify_with_link(s, rules, keyring, links, token, now=NOW)
    )

    done = [r for r in results if not isinstance(r, Exception)]
    assert len(done) == 1
    assert all(isinstance(r, service.LinkUsed) for r in results if isinstance(r, Exception))
    session.expire_all()
    exports = [
        m for m in mails_to(session, keyring, ADA["email"]) if "/requests/export" in m["body"]
    ]
    assert len(exports) == 1
    with pytest.raises(service.LinkUsed):
        service.verify_with_link(session, rules, keyring, links, token, now=NOW)


def test_a_pending_look_up_holds_no_address_in_the_clear_and_goes_once_handled(
    session: Session, rules: Rules, keyring: Keyring, links: Links
) -> None:
    take_order(session, rules, keyring, ADA, now=NOW)
    account.request_link(
        session, rules.policy, keyring, links, email=ADA["email"], lang="en", now=NOW
    )
    [row] = session.scalars(select(PendingLookup)).all()
    assert ADA["email"].encode() not in row.sealed
    assert b"ada" not in row.sealed.lower()

    assert handle_lookups(session, rules, keyring) == 1
    assert session.scalars(select(PendingLookup)).all() == []
    assert len(mails_to(session, keyring, ADA["email"])) == 1


def test_a_look_up_is_handled_once_by_racing_workers(
    engine: Engine, session: Session, rules: Rules, keyring: Keyring, links: Links
) -> None:
    take_order(session, rules, keyring, ADA, now=NOW)
    account.request_link(
        session, rules.policy, keyring, links, email=ADA["email"], lang="en", now=NOW
    )
    session.commit()
    [job_id] = deferred.pending_ids(session)

    tools = deferred.Tools(rules=rules, keyring=keyring, secret=b"test-secret")
    results = _race(engine, lambda s: deferred.handle_job(s, tools, job_id, now=NOW))

    assert sorted(results, key=str) == [False] * (PARALLEL - 1) + [True]
    session.expire_all()
    assert len(mails_to(session, keyring, ADA["email"])) == 1
