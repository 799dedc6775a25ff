"""Engines, sessions and migrations; the model base every domain's tables derive from."""

import os
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import DateTime, Dialect, Engine, MetaData, TypeDecorator, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from schutz.wakeup import notify

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
    # Deleted rows are overwritten with zeros, not left in free pages, so that an erased
    # subject's wrapped key cannot be read from the file (Art. 17 GDPR, invariant 4).
    cur.execute("PRAGMA secure_delete=ON")
    # WAL lets readers go on while one writer commits; busy_timeout waits instead of failing.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


PRIVATE_UMASK = 0o077
"""Files Schutz creates are its owner's alone: 0600, folders 0700 (invariant 3)."""


def keep_files_private() -> None:
    """Set the process umask so that every file created from now on is 0600 (folders 0700).

    The database, its WAL and shared-memory files, keys, .eml files and backups all hold
    personal data or the keys to it; no other account on the machine may read them.
    """
    os.umask(PRIVATE_UMASK)


def private_folder(path: Path) -> None:
    """Create `path` as 0700, or narrow it to 0700 when it is ours and open to others.

    A folder shared by design (sticky, such as /tmp) is left alone; Schutz only keeps its
    own files there.
    """
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = path.stat()
    if info.st_mode & 0o077 and not info.st_mode & stat.S_ISVTX and info.st_uid == os.getuid():
        path.chmod(0o700)


def _private_database(path: Path) -> None:
    """The SQLite file and its companions 0600; SQLite gives a new WAL the file's mode."""
    private_folder(path.parent)
    for name in (path.name, f"{path.name}-wal", f"{path.name}-shm", f"{path.name}-journal"):
        companion = path.with_name(name)
        try:
            if companion.stat().st_mode & 0o077:
                companion.chmod(0o600)
        except FileNotFoundError:
            continue


def make_engine(url: str, **kwargs: Any) -> Engine:
    keep_files_private()
    if url.startswith("sqlite"):
        _, slashes, path = url.partition("///")
        if slashes and path and not path.startswith(":memory:"):
            _private_database(Path(path))
            kwargs = {"pool_size": POOL_SIZE, "max_overflow": POOL_OVERFLOW, **kwargs}
        engine = create_engine(url, connect_args={"timeout": 10}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return _many_rows_per_statement(engine)
    kwargs = {"pool_size": POOL_SIZE, "max_overflow": POOL_OVERFLOW, **kwargs}
    return _many_rows_per_statement(create_engine(url, pool_pre_ping=True, **kwargs))


def _many_rows_per_statement(engine: Engine) -> Engine:
    """Send an INSERT of many rows as multi-row VALUES pages, not one driver call per row.

    SQLAlchemy does so by itself only for INSERT ... RETURNING. A driver call per row gives
    up the GIL per row and waits for it back; in a server whose event loop keeps the GIL
    busy, the page-view batch then crawled: 356 rows/s on SQLite instead of 35,000 (2,300
    instead of 10,800 on PostgreSQL), measured with one busy thread beside it.
    """
    engine.dialect.use_insertmanyvalues_wo_returning = True
    return engine


_CHECKPOINT = "schutz.checkpoint"


def request_checkpoint(session: Session) -> None:
    """Ask for `checkpoint` once this session commits (an erasure calls it)."""
    session.info[_CHECKPOINT] = True


def checkpoint(engine: Engine) -> None:
    """Fold SQLite's write-ahead log into the database and empty it (TRUNCATE).

    After an erasure the log still holds the pages as they were before, the wrapped data
    key among them; with `secure_delete` the database file holds zeros where the key was,
    and this makes the log hold nothing. A no-op on PostgreSQL, whose WAL and dead tuples
    are the server's to recycle (VACUUM); what it holds is ciphertext.
    """
    if engine.dialect.name != "sqlite":
        return
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


_WORK = "schutz.work"
_work_waiters: set[threading.Event] = set()
"""The events of this process's embedded workers: set when a commit queued work for them.
Process-wide on purpose: the app and the worker use different session factories."""


def note_work(session: Session) -> None:
    """Wake this process's workers once `session` commits (the outbox and the look-up queue
    call it), so mail leaves at once instead of after the next poll; on PostgreSQL the
    workers of other processes too (`wakeup.py`: a NOTIFY, delivered on commit)."""
    if not session.info.get(_WORK):
        notify(session)
    session.info[_WORK] = True


def wake_on_work(wake: threading.Event) -> None:
    """Have `wake` set whenever a session in this process commits work for the worker."""
    _work_waiters.add(wake)


def stop_waking(wake: threading.Event) -> None:
    _work_waiters.discard(wake)


def _after_commit(session: Session) -> None:
    if session.info.pop(_WORK, False):
        for wake in tuple(_work_waiters):
            wake.set()
    if not session.info.pop(_CHECKPOINT, False):
        return
    bind = session.get_bind()
    # A session bound to a connection (a test's outer transaction) is not done: nothing has
    # reached the file yet, and a checkpoint would wait for that transaction.
    if isinstance(bind, Engine):
        checkpoint(bind)


def _after_rollback(session: Session) -> None:
    session.info.pop(_CHECKPOINT, None)
    session.info.pop(_WORK, None)


def session_limit(engine: Engine) -> int:
    """How many requests of one web process may hold a session at once (never more than
    the pool has connections)."""
    return SQLITE_SESSIONS if engine.dialect.name == "sqlite" else POOL_SIZE


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    event.listen(factory, "after_commit", _after_commit)
    event.listen(factory, "after_rollback", _after_rollback)
    return factory


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
