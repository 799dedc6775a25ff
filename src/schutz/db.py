"""Engines, sessions and migrations; the model base every domain's tables derive from."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import DateTime, Dialect, Engine, MetaData, TypeDecorator, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

# Connections one process keeps. The web edge lets at most POOL_SIZE requests hold a session
# at once (`web/deps.py`), and makes the rest wait on the event loop, so no request ever waits
# for a connection while it occupies a worker thread that a connection holder needs to finish
# (that wait stalled the server at 100 connections). The overflow serves the few users outside
# that gate: the page-view batch, `/metrics`, the audience stream.
POOL_SIZE = 20
POOL_OVERFLOW = 10
# SQLite has one writer at a time, and a writer that finds the lock taken sleeps in steps of
# up to 100 ms: fewer requests at once in the database answer more of them per second.
# (Measured under wrk at 32 connections, audited reads: 4 at once 87/s, 20 at once 42/s.)
SQLITE_SESSIONS = 4

# Stable constraint names, so that Alembic migrations read the same on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp that goes in as aware UTC and comes out as aware UTC on every backend.

    SQLite keeps no zone and psycopg answers in the connection's zone; both are normalised
    here, so a hash computed before the write matches one computed after reading it back.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass a timezone-aware UTC time")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    # WAL lets readers go on while one writer commits; busy_timeout waits instead of failing.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def make_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        _, slashes, path = url.partition("///")
        if slashes and path and not path.startswith(":memory:"):
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            kwargs = {"pool_size": POOL_SIZE, "max_overflow": POOL_OVERFLOW, **kwargs}
        engine = create_engine(url, connect_args={"timeout": 10}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    kwargs = {"pool_size": POOL_SIZE, "max_overflow": POOL_OVERFLOW, **kwargs}
    return create_engine(url, pool_pre_ping=True, **kwargs)


def session_limit(engine: Engine) -> int:
    """How many requests of one web process may hold a session at once (never more than
    the pool has connections)."""
    return SQLITE_SESSIONS if engine.dialect.name == "sqlite" else POOL_SIZE


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session that commits when the block ends cleanly and rolls back otherwise."""
    with factory() as session, session.begin():
        yield session


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migration; a no-op when it is already there."""
    command.upgrade(alembic_config(engine), "head")
