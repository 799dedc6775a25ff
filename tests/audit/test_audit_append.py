"""Appending costs few statements, and reusing the locked head never forks the chain."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from schutz.audit.service import record, verify

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


@contextmanager
def counted(engine: Engine) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        statements.append(sql.split()[0].upper())

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def _entry(session: Session, n: int) -> None:
    record(session, actor="t", action="test.append", details={"n": n}, now=NOW)


def test_the_first_entry_of_a_transaction_takes_three_statements_later_ones_two(
    session: Session, engine: Engine
) -> None:
    # PostgreSQL numbers entries across lanes with a sequence: one `nextval` more per entry.
    later = ["SELECT"] if engine.dialect.name == "postgresql" else []
    _entry(session, 0)  # the head row exists from here on
    session.commit()
    with counted(engine) as statements:
        _entry(session, 1)
        first = list(statements)
        _entry(session, 2)
        _entry(session, 3)
    assert first == ["UPDATE", "INSERT", "UPDATE"]
    assert statements[3:] == [*later, "INSERT", "UPDATE", *later, "INSERT", "UPDATE"]
    session.commit()
    assert verify(session).count == 4


def test_a_rolled_back_savepoint_between_entries_keeps_one_chain(session: Session) -> None:
    _entry(session, 1)
    nested = session.begin_nested()
    _entry(session, 2)
    nested.rollback()
    _entry(session, 3)
    with session.begin_nested():
        _entry(session, 4)
    _entry(session, 5)
    session.commit()
    result = verify(session)
    assert (result.ok, result.count) == (True, 4)


def test_each_transaction_locks_the_head_afresh(session: Session) -> None:
    _entry(session, 1)
    session.rollback()
    _entry(session, 2)
    session.commit()
    _entry(session, 3)
    session.commit()
    result = verify(session)
    assert (result.ok, result.count) == (True, 2)
