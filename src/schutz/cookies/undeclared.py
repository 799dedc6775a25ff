"""The report of undeclared cookies, kept as rows so that every app server adds to one report
and a restart forgets nothing (C17: only declared cookies leave; the others are shown to staff).
"""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from schutz.cookies.models import UndeclaredCookie

NAME_MAX = 256
PATH_MAX = 512


def report_undeclared(session: Session, name: str, path: str, *, now: datetime) -> None:
    """Count one dropped undeclared cookie `name` (set on `path`): one upsert, flushed."""
    values = {"name": name[:NAME_MAX], "count": 1, "last_path": path[:PATH_MAX], "last_at": now}
    table = cast("Table", UndeclaredCookie.__table__)
    dialect = session.get_bind().dialect.name
    build = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = build(table).values(values)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[UndeclaredCookie.name],
            set_={
                "count": UndeclaredCookie.count + 1,
                "last_path": statement.excluded.last_path,
                "last_at": statement.excluded.last_at,
            },
        )
    )


def undeclared_rows(session: Session) -> list[tuple[str, int, str, datetime]]:
    """(name, times dropped, last path, last time), the most frequent first."""
    result = session.execute(
        select(
            UndeclaredCookie.name,
            UndeclaredCookie.count,
            UndeclaredCookie.last_path,
            UndeclaredCookie.last_at,
        ).order_by(UndeclaredCookie.count.desc(), UndeclaredCookie.name)
    )
    return [(n, int(c), p, at) for n, c, p, at in result]
