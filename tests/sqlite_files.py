"""SQLite files for tests: a freshly migrated database, and reading a live one's files for
plaintext scans without breaking its locks.

`fresh_sqlite` copies a database migrated once per run instead of running every migration
again (a copy of a closed WAL database is a complete database).

SQLite locks with POSIX fcntl locks, which belong to the process: closing ANY descriptor of
the database file drops every lock this process holds on it, so a plain `read_bytes()` in
the test process lets another process (a CLI subprocess, a server) run a checkpoint under a
connection that still believes it holds its lock, and the file ends up malformed. Reading
in a child process leaves our locks alone.
"""

from __future__ import annotations

import atexit
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from schutz.db import make_engine, migrate, private_folder

_template: list[Path] = []


def _migrated_template() -> Path:
    if not _template:
        folder = Path(tempfile.mkdtemp(prefix="schutz-template-db-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        path = folder / "template.db"
        engine = make_engine(f"sqlite:///{path}")
        migrate(engine)
        engine.dispose()  # the last connection folds the write-ahead log into the file
        assert not path.with_name(path.name + "-wal").exists()
        _template.append(path)
    return _template[0]


def fresh_sqlite(path: Path) -> str:
    """Create `path` as a database migrated to the newest schema; returns its URL."""
    private_folder(path.parent)  # as Schutz makes it: 0700, the file 0600
    shutil.copyfile(_migrated_template(), path)
    path.chmod(0o600)
    return f"sqlite:///{path}"


_CAT = "import sys; sys.stdout.buffer.write(open(sys.argv[1], 'rb').read())"


def read_out_of_process(path: Path) -> bytes:
    """The bytes of `path`, read by a child process (b"" when it does not exist)."""
    if not path.exists():
        return b""
    return subprocess.run(
        [sys.executable, "-c", _CAT, str(path)], capture_output=True, check=True
    ).stdout


def sqlite_bytes(database: Path) -> bytes:
    """The database file and its write-ahead log, as stored on disk right now."""
    wal = database.with_name(database.name + "-wal")
    return read_out_of_process(database) + read_out_of_process(wal)
