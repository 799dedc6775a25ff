"""Read a live SQLite database's files for plaintext scans without breaking its locks.

SQLite locks with POSIX fcntl locks, which belong to the process: closing ANY descriptor of
the database file drops every lock this process holds on it, so a plain `read_bytes()` in
the test process lets another process (a CLI subprocess, a server) run a checkpoint under a
connection that still believes it holds its lock, and the file ends up malformed. Reading
in a child process leaves our locks alone.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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
