"""PostgreSQL snapshots with `pg_dump --format=custom` of Schutz's schema, restores with psql.

The dump covers the one schema the URL's `search_path` selects (or the connection's current
schema), under pg_dump's repeatable-read snapshot. The restore runs in a single psql
transaction: drop the objects the snapshot brings and Schutz's own tables, then replay the
snapshot without its CREATE SCHEMA entry. Objects of other applications in a shared schema
stay; any failure rolls everything back. Connection details travel in libpq's environment
variables, never on a command line another user could read.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, cast

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from schutz.backup.errors import BackupError

LOCK_TIMEOUT = "30s"
TableProgress = Callable[[int, int], None]

# libpq reads these; SQLAlchemy keeps the rest of the URL's query for the driver.
_QUERY_ENV = {
    "options": "PGOPTIONS",
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "connect_timeout": "PGCONNECT_TIMEOUT",
    "application_name": "PGAPPNAME",
    "host": "PGHOST",
    "port": "PGPORT",
}
_DROPPED_KINDS = ("MATERIALIZED VIEW", "VIEW", "TABLE", "SEQUENCE", "TYPE")
_TOC = re.compile(r"^\d+; \d+ \d+ (?P<kind>[A-Z ]+?) (?P<schema>\S+) (?P<name>\S+)(?: \S+)?$")


def libpq_env(url: str, base: dict[str, str]) -> dict[str, str]:
    """`base` plus PGHOST, PGDATABASE, PGPASSWORD... for the database of a SQLAlchemy URL."""
    parsed = make_url(url)
    env = {k: v for k, v in base.items() if not k.startswith("PG")}
    for key, value in (
        ("PGHOST", parsed.host),
        ("PGPORT", None if parsed.port is None else str(parsed.port)),
        ("PGUSER", parsed.username),
        ("PGPASSWORD", parsed.password),
        ("PGDATABASE", parsed.database),
    ):
        if value:
            env[key] = str(value)
    for name, given in parsed.query.items():
        if name in _QUERY_ENV:
            env[_QUERY_ENV[name]] = given if isinstance(given, str) else given[-1]
    return env


def tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"`{name}` is not installed; PostgreSQL backups need the client tools")
    return found


def current_schema(engine: Engine) -> str:
    with engine.connect() as conn:
        schema = conn.scalar(text("SELECT current_schema()"))
    if not schema:
        raise BackupError("the database URL's search_path names no existing schema")
    return str(schema)


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _first_error(stderr: str) -> str:
    """The first error line of a client tool; DETAIL and CONTEXT lines may quote row data."""
    for line in stderr.splitlines():
        if "error:" in line.lower() or line.startswith(("ERROR", "FATAL", "psql:")):
            return line.strip()[:300]
    return "no error message"


def dump(
    url: str,
    schema: str,
    env: dict[str, str],
    consume: Callable[[IO[bytes]], None],
    tables: int,
    progress: TableProgress | None = None,
) -> None:
    """Run pg_dump on `schema`; `consume` reads the custom-format archive from its stdout."""
    argv = [
        tool("pg_dump"),
        "--format=custom",
        "--no-owner",
        "--no-privileges",
        "--verbose",
        f"--schema={schema}",
    ]
    process = subprocess.Popen(  # noqa: S603 - fixed argv; the schema is one argument
        argv, env=libpq_env(url, env), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    errors: list[str] = []

    def watch(stream: IO[bytes]) -> None:
        done = 0
        for raw in stream:
            line = raw.decode("utf-8", "replace")
            errors.append(line)
            if "dumping contents of table" in line:
                done += 1
                if progress is not None:
                    progress(min(done, tables), tables)

    stdout = cast(IO[bytes], process.stdout)
    watcher = threading.Thread(target=watch, args=(process.stderr,), daemon=True)
    watcher.start()
    try:
        consume(stdout)
    finally:
        stdout.close()
        code = process.wait()
        watcher.join()
        cast(IO[bytes], process.stderr).close()
    if code != 0:
        raise BackupError(f"pg_dump failed: {_first_error(''.join(errors))}")


def count_tables(engine: Engine, schema: str) -> int:
    with engine.connect() as conn:
        n = conn.scalar(text("SELECT count(*) FROM pg_tables WHERE schemaname = :s"), {"s": schema})
    return int(n or 0)


def _toc(archive: Path, env: dict[str, str]) -> list[str]:
    listed = subprocess.run(  # noqa: S603 - fixed argv
        [tool("pg_restore"), "--list", str(archive)], env=env, capture_output=True, check=False
    )
    if listed.returncode != 0:
        raise BackupError("the snapshot inside the backup is not a pg_dump archive")
    return listed.stdout.decode("utf-8", "replace").splitlines()


def _drops(schema: str, toc: list[str], own_tables: Iterable[str]) -> list[str]:
    objects: dict[str, set[str]] = {kind: set() for kind in _DROPPED_KINDS}
    objects["TABLE"].update(own_tables)
    for line in toc:
        match = _TOC.match(line)
        if match and match["schema"] == schema and match["kind"] in objects:
            objects[match["kind"]].add(match["name"])
    return [
        f"DROP {kind} IF EXISTS {_quote(schema)}.{_quote(name)} CASCADE;"
        for kind in _DROPPED_KINDS
        for name in sorted(objects[kind])
    ]


def restore(
    url: str, schema: str, archive: Path, workdir: Path, env: dict[str, str], own_tables: list[str]
) -> None:
    """Replace Schutz's objects in `schema` with the archive's, in one transaction."""
    env = libpq_env(url, env)
    toc = _toc(archive, env)
    entries = [line for line in toc if not re.match(r"^\d+; \d+ \d+ SCHEMA ", line)]
    listing = workdir / "restore.list"
    listing.write_text("\n".join(entries) + "\n", encoding="utf-8")
    prologue = "\n".join(
        [
            "SET client_min_messages = warning;",
            f"SET lock_timeout = '{LOCK_TIMEOUT}';",
            f"CREATE SCHEMA IF NOT EXISTS {_quote(schema)};",
            *_drops(schema, toc, own_tables),
            "",
        ]
    )
    script_log, psql_log = workdir / "pg_restore.log", workdir / "psql.log"
    # Error output goes to files: a pipe nobody drains while we feed psql could stall both.
    with script_log.open("wb") as script_err, psql_log.open("wb") as psql_err:
        script = subprocess.Popen(  # noqa: S603 - fixed argv
            [
                tool("pg_restore"),
                "--no-owner",
                "--no-privileges",
                "-L",
                str(listing),
                "-f",
                "-",
                str(archive),
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=script_err,
        )
        psql = subprocess.Popen(  # noqa: S603 - fixed argv
            [tool("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction", "-f", "-"],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=psql_err,
        )
        _feed(prologue.encode("utf-8"), cast(IO[bytes], script.stdout), cast(IO[bytes], psql.stdin))
        script.wait()
        psql.wait()
    if script.returncode != 0:
        problem = _first_error(script_log.read_text("utf-8", "replace"))
        raise BackupError(f"pg_restore failed, the database is unchanged: {problem}")
    if psql.returncode != 0:
        text_err = psql_log.read_text("utf-8", "replace")
        problem = _first_error(text_err)
        if "lock timeout" in text_err:
            problem = "the database is busy: stop `schutz serve` and the workers first"
        raise BackupError(f"restore failed, the database is unchanged: {problem}")


def _feed(prologue: bytes, script: IO[bytes], psql: IO[bytes]) -> None:
    """Send the prologue and then pg_restore's SQL into psql's standard input."""
    try:
        psql.write(prologue)
        shutil.copyfileobj(script, psql, 1 << 20)
    except BrokenPipeError:
        pass  # psql stopped at an error; its log says which
    finally:
        script.close()
        with contextlib.suppress(BrokenPipeError):
            psql.close()
