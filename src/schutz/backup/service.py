"""Take an encrypted snapshot of the database, and restore one without reviving the erased.

A backup is the whole database at one moment (SQLite's online backup API, or pg_dump of
Schutz's schema), sealed with a key derived from the active master key (`sealed.py`). It
never holds a master key: without the keyring of the installation it is unreadable, which
is also why crypto-shredding reaches into backups (Art. 17 GDPR, clause C10).

A restore checks everything it can before it touches the database (the file, its header,
the key, every chunk's tag, the snapshot itself), then saves the decisions of the current
database that must outlive it (revoked keys, disabled staff, objections, withdrawals,
erasures) in the journal (`journal.py`), replaces the database in one transaction, migrates
it and re-applies those decisions (`reapply.py`). An audit entry records the restore.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO

from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Engine, inspect, text
from sqlalchemy.orm import Session

from schutz.audit import service as audit
from schutz.backup import postgres, sqlite
from schutz.backup.errors import BackupError
from schutz.backup.journal import remember
from schutz.backup.reapply import Reapplied, reapply
from schutz.backup.sealed import Header, new_header, read_header, seal, unseal
from schutz.config import Settings
from schutz.db import alembic_config, migrate
from schutz.models import metadata
from schutz.policy.loader import load_policy_set
from schutz.vault.keys import KeyringError, keyring_path, load_keyring

# (phase, done, total): "snapshot" in pages or tables, "encrypt"/"decrypt" in bytes.
Progress = Callable[[str, int, int | None], None]
SUFFIX = ".schutz-backup"


@dataclass(frozen=True, slots=True)
class BackupResult:
    path: Path
    header: Header
    size: int


@dataclass(frozen=True, slots=True)
class RestoreResult:
    header: Header
    reapplied: Reapplied


def _quiet(_phase: str, _done: int, _total: int | None) -> None:
    return None


def _backend(engine: Engine) -> str:
    name = engine.dialect.name
    if name not in ("sqlite", "postgresql"):
        raise BackupError(f"backups support SQLite and PostgreSQL, not {name}")
    return name


def _revision(engine: Engine) -> str | None:
    if not inspect(engine).has_table("alembic_version"):
        return None
    with engine.connect() as conn:
        found = conn.scalar(text("SELECT version_num FROM alembic_version"))
    return None if found is None else str(found)


def _workdir(settings: Settings) -> tempfile.TemporaryDirectory[str]:
    """A private (0700) scratch directory beside the data, for the plaintext snapshot."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return tempfile.TemporaryDirectory(prefix=".backup-", dir=settings.data_dir)


def _output_path(settings: Settings, output: Path | None, now: datetime) -> Path:
    if output is None:
        folder = settings.data_dir / "backups"
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        stem = f"schutz-{now:%Y%m%dT%H%M%S}Z"
        path, n = folder / f"{stem}{SUFFIX}", 1
        while path.exists():
            n += 1
            path = folder / f"{stem}-{n}{SUFFIX}"
        return path
    if "\x00" in str(output):
        raise BackupError("the output path contains a NUL byte")
    if output.exists() or output.is_symlink():
        raise BackupError(f"{output} exists already; a backup never overwrites a file")
    if not output.parent.is_dir():
        raise BackupError(f"directory {output.parent} does not exist")
    return output


def _place(part: Path, target: Path) -> None:
    """Give the finished file its name, never replacing a file that appeared meanwhile."""
    try:
        os.link(part, target)
    except FileExistsError:
        raise BackupError(f"{target} exists already; a backup never overwrites a file") from None
    except OSError:
        os.replace(part, target)  # a file system without hard links; checked just before


def _snapshot(
    settings: Settings,
    engine: Engine,
    schema: str | None,
    consume: Callable[[IO[bytes]], None],
    progress: Progress,
) -> None:
    """Take a consistent snapshot of the database and hand it to `consume` as a stream:
    SQLite's online backup into a private work folder, or `pg_dump` of `schema`."""
    if schema is None:
        with _workdir(settings) as work:
            copy = Path(work) / "snapshot.db"
            sqlite.snapshot(
                sqlite.database_path(settings.resolved_database_url),
                copy,
                lambda done, total: progress("snapshot", done, total),
            )
            with copy.open("rb") as source:
                consume(source)
        return
    postgres.dump(
        str(engine.url.render_as_string(hide_password=False)),
        schema,
        dict(os.environ),
        consume,
        postgres.count_tables(engine, schema),
        lambda done, total: progress("snapshot", done, total),
    )


def create_backup(
    settings: Settings,
    engine: Engine,
    output: Path | None = None,
    *,
    now: datetime,
    progress: Progress = _quiet,
) -> BackupResult:
    """Write an encrypted, consistent snapshot of the database; returns where it went.

    The restore journal is brought up to date first, so that restoring an older backup
    still knows this database's decisions even once the database is gone.
    """
    backend = _backend(engine)
    target = _output_path(settings, output, now)
    remember(settings.data_dir, engine)
    master = load_keyring(settings).active
    schema = postgres.current_schema(engine) if backend == "postgresql" else None
    header = new_header(
        backend=backend,
        created_at=now,
        key_id=master.key_id,
        revision=_revision(engine),
        schema=schema,
    )

    def encrypt(source: IO[bytes], out: IO[bytes]) -> None:
        written = 0

        def advance(n: int) -> None:
            nonlocal written
            written += n
            progress("encrypt", written, None)

        seal(source, out, header, master.secret, advance)

    fd, part = tempfile.mkstemp(prefix=".schutz-backup-", suffix=".part", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            _snapshot(settings, engine, schema, lambda source: encrypt(source, out), progress)
            out.flush()
            os.fsync(out.fileno())
        _place(Path(part), target)
    except OSError as exc:
        raise BackupError(f"cannot write {target}: {exc.strerror or type(exc).__name__}") from exc
    finally:
        Path(part).unlink(missing_ok=True)
    return BackupResult(target, header, target.stat().st_size)


def _open_backup(path: Path) -> IO[bytes]:
    if "\x00" in str(path):
        raise BackupError("the path contains a NUL byte")
    try:
        info = path.stat()
    except FileNotFoundError:
        raise BackupError(f"{path}: no such file") from None
    except OSError as exc:
        raise BackupError(f"{path}: {exc.strerror or type(exc).__name__}") from exc
    if not stat.S_ISREG(info.st_mode):
        raise BackupError(f"{path} is not a regular file")
    try:
        return path.open("rb")
    except OSError as exc:
        raise BackupError(f"cannot read {path}: {exc.strerror or type(exc).__name__}") from exc


def _check_fits(header: Header, engine: Engine, backend: str) -> None:
    if header.backend != backend:
        raise BackupError(
            f"this backup is of a {header.backend} database; the configured one is {backend}"
        )
    if backend == "postgresql":
        schema = postgres.current_schema(engine)
        if header.schema != schema:
            raise BackupError(
                f"this backup is of schema {header.schema!r}; the URL selects {schema!r}"
            )
    if header.revision is not None:
        try:
            ScriptDirectory.from_config(alembic_config(engine)).get_revision(header.revision)
        except CommandError:
            raise BackupError(
                f"this backup comes from a newer Schutz (schema revision {header.revision});"
                " upgrade Schutz before restoring it"
            ) from None


def _master_secret(settings: Settings, key_id: str) -> bytes:
    path = keyring_path(settings)
    if not path.is_file():
        raise BackupError(
            f"no master key file at {path}: a backup is readable only with the keyring of the"
            " installation that made it"
        )
    try:
        return load_keyring(settings).get(key_id).secret
    except KeyringError:
        raise BackupError(
            f"the backup was sealed with master key {key_id}, which is not in the keyring at"
            f" {path}; restore the keyring kept with the backups first"
        ) from None


def restore_backup(
    settings: Settings,
    engine: Engine,
    path: Path,
    *,
    actor: str,
    now: datetime,
    progress: Progress = _quiet,
) -> RestoreResult:
    """Replace the database with the backup at `path`, then re-apply the decisions it lacks.

    The journal keeps them across a crash at any point: running the restore again finishes it.
    """
    backend = _backend(engine)
    url = engine.url.render_as_string(hide_password=False)
    with _open_backup(path) as stream:
        size = os.fstat(stream.fileno()).st_size
        header, prefix = read_header(stream)
        _check_fits(header, engine, backend)
        secret = _master_secret(settings, header.key_id)
        policy = load_policy_set(settings.policy).in_force(now.date())
        with _workdir(settings) as work:
            plain = Path(work) / "snapshot"
            done = len(prefix)
            with plain.open("wb") as out:
                for chunk in unseal(stream, header, prefix, secret):
                    out.write(chunk)
                    done += len(chunk) + 20
                    progress("decrypt", min(done, size), size)
            if backend == "sqlite":
                sqlite.inspect(plain)
            decisions = remember(settings.data_dir, engine)
            engine.dispose()
            if backend == "sqlite":
                sqlite.restore(plain, sqlite.database_path(url))
            else:
                own = [t.name for t in metadata.sorted_tables] + ["alembic_version"]
                schema = postgres.current_schema(engine)  # the header's, by _check_fits
                postgres.restore(url, schema, plain, Path(work), dict(os.environ), own)
    engine.dispose()
    migrate(engine)
    with Session(engine) as session, session.begin():
        report = reapply(session, policy, decisions, actor=actor, now=now)
        audit.record(
            session,
            actor=actor,
            action="backup.restore",
            details={
                "backup_created_at": header.created_at.isoformat(),
                "backend": header.backend,
                **report.details(),
            },
            now=now,
        )
    engine.dispose()
    return RestoreResult(header, report)
