"""SQLite snapshots through the online backup API, and restores through it in reverse.

`sqlite3.Connection.backup` copies a consistent image of the database while the server goes
on writing (a write between steps restarts the copy from the start, so the image is always
of one moment). A restore copies the snapshot back into the live file in a single step, which
SQLite does as one write transaction: a crash midway leaves the old database whole, and the
WAL and its index stay consistent, which replacing the file underneath would not.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

from sqlalchemy.engine import make_url

from schutz.backup.errors import BackupError

PAGES_PER_STEP = 256
BUSY_MS = 30_000

PageProgress = Callable[[int, int], None]
_BUSY = "the database is busy: stop `schutz serve` and the workers, then run the command again"


def database_path(url: str) -> Path:
    """The file behind a `sqlite:///...` URL."""
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up or restored")
    return Path(database)


def _connect_existing(path: Path) -> sqlite3.Connection:
    if not path.is_file():
        raise BackupError(f"no SQLite database at {path}: nothing to back up")
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=rw", uri=True, timeout=BUSY_MS / 1000)
    conn.execute(f"PRAGMA busy_timeout={BUSY_MS}")
    return conn


def snapshot(database: Path, target: Path, progress: PageProgress | None = None) -> None:
    """Copy a consistent image of `database` into the new file `target` (rollback journal)."""

    def step(_status: int, remaining: int, total: int) -> None:
        if progress is not None:
            progress(total - remaining, total)

    try:
        with (
            closing(_connect_existing(database)) as source,
            closing(sqlite3.connect(target)) as out,
        ):
            source.backup(out, pages=PAGES_PER_STEP, progress=step)
            # A self-contained file: no -wal beside it once it is decrypted again.
            out.execute("PRAGMA journal_mode=DELETE")
    except sqlite3.OperationalError as exc:
        raise BackupError(_BUSY if "locked" in str(exc) else f"SQLite: {exc}") from exc


def inspect(snapshot_file: Path) -> str | None:
    """The migration revision of a decrypted snapshot, after SQLite's own integrity check."""
    try:
        with closing(
            sqlite3.connect(f"{snapshot_file.resolve().as_uri()}?mode=ro", uri=True)
        ) as db:
            (verdict,) = db.execute("PRAGMA integrity_check").fetchone()
            if verdict != "ok":
                raise BackupError("the snapshot inside the backup fails SQLite's integrity check")
            row = db.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError as exc:
        raise BackupError("the snapshot inside the backup is not a Schutz database") from exc
    return None if row is None else str(row[0])


def restore(snapshot_file: Path, database: Path) -> None:
    """Make `database` an exact copy of the snapshot, in one transaction."""
    database.parent.mkdir(parents=True, exist_ok=True)
    try:
        with (
            closing(sqlite3.connect(snapshot_file)) as source,
            closing(sqlite3.connect(database, timeout=BUSY_MS / 1000)) as live,
        ):
            live.execute(f"PRAGMA busy_timeout={BUSY_MS}")
            source.backup(live)  # pages=-1: one step, one transaction on the live file
            live.execute("PRAGMA journal_mode=WAL")
    except sqlite3.OperationalError as exc:
        raise BackupError(_BUSY if "locked" in str(exc) else f"SQLite: {exc}") from exc
