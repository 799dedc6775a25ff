"""Benchmark: page views per second through POST /api/v1/collect, beside /healthz and SQL.

Usage: python bench/collect.py [RESULTS.md] [--seconds S] [--connections C] [--clients P]

- A real uvicorn (one worker, as `schutz serve` runs it) on 127.0.0.1 serves create_app with
  the analytics routes and the cookie guard. A load generator of P processes, each with C
  keep-alive connections speaking raw HTTP/1.1 over asyncio (httpx alone tops out below the
  server), sends the beacon with analytics consent for S seconds; then the same against
  /healthz of the same app, the framework's ceiling. Every accepted page view is counted in
  the database afterwards, to show nothing was lost.
- The storage path (`store_page_views`, SQLAlchemy Core executemany in batches of 2,000, as
  the ingest buffer writes) against a plain DB-API batch INSERT of the same rows, on SQLite
  and, when reachable, PostgreSQL.
With RESULTS.md, the `## Analytics ingest` section there is replaced (or appended).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import platform
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text
from starlette.responses import Response

from schutz.analytics.models import PageView
from schutz.analytics.service import PageViewIn, store_page_views
from schutz.config import Settings
from schutz.cookies.choices import Choices, new_visitor_id
from schutz.db import make_engine, make_session_factory, migrate

SECTION = "## Analytics ingest"
PG_URL = os.environ.get(
    "SCHUTZ_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
ROWS = 100_000
PLAIN_INSERT = {
    "sqlite": "INSERT INTO page_view (at, path, referrer, ip_truncated, visitor_id)"
    " VALUES (?, ?, ?, ?, ?)",
    "postgresql": "INSERT INTO page_view (at, path, referrer, ip_truncated, visitor_id)"
    " VALUES (%s, %s, %s, %s, %s)",
}
BATCH = 2_000


def make_app() -> Any:
    """uvicorn factory: create_app plus this issue's routes and guard (until app.py has them)."""
    from schutz.web.app import create_app
    from schutz.web.cookie_guard import CookieGuardMiddleware
    from schutz.web.routes import analytics, cookies

    app = create_app(Settings())
    for module in (analytics, cookies):
        paths = {getattr(r, "path", "") for r in module.router.routes}
        if not any(getattr(r, "path", "") in paths for r in app.routes):
            app.include_router(module.router)
    if not any(m.cls is CookieGuardMiddleware for m in app.user_middleware):
        app.add_middleware(CookieGuardMiddleware)

    @app.get("/bench/noop", status_code=204, include_in_schema=False)
    async def noop() -> Response:
        """The framework floor: the same middleware stack, a route that does nothing."""
        return Response(status_code=204)

    return app


# --- load generator ------------------------------------------------------------------------


def _request(method: str, path: str, body: bytes, cookie: str) -> bytes:
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\n"
        f"X-Forwarded-For: 203.0.113.77\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _connection(port: int, payload: bytes, until: float) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    done = 0
    try:
        while time.monotonic() < until:
            writer.write(payload)
            head = await reader.readuntil(b"\r\n\r\n")
            match = re.search(rb"(?i)content-length: *(\d+)", head)
            if match and int(match.group(1)):
                await reader.readexactly(int(match.group(1)))
            if not head.startswith((b"HTTP/1.1 2",)):
                raise RuntimeError(head.split(b"\r\n", 1)[0].decode())
            done += 1
    finally:
        writer.close()
    return done


def _client(port: int, payload: bytes, connections: int, seconds: float, out: Any) -> None:
    async def run() -> int:
        until = time.monotonic() + seconds
        counts = await asyncio.gather(
            *(_connection(port, payload, until) for _ in range(connections))
        )
        return sum(counts)

    out.put(asyncio.run(run()))


def load(port: int, payload: bytes, *, clients: int, connections: int, seconds: float) -> float:
    """Requests per second the server answered with 2xx."""
    queue: Any = multiprocessing.Queue()
    procs = [
        multiprocessing.Process(target=_client, args=(port, payload, connections, seconds, queue))
        for _ in range(clients)
    ]
    start = time.monotonic()
    for p in procs:
        p.start()
    total = sum(queue.get() for _ in procs)
    for p in procs:
        p.join()
    return total / (time.monotonic() - start)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http_figures(args: argparse.Namespace, work: Path) -> dict[str, float]:
    db = work / "http.db"
    engine = make_engine(f"sqlite:///{db}")
    migrate(engine)
    port = _free_port()
    env = {
        **os.environ,
        "SCHUTZ_DATA_DIR": str(work),
        "SCHUTZ_DATABASE_URL": f"sqlite:///{db}",
        "SCHUTZ_RATE_LIMIT_COLLECT": "off",
    }  # fmt: skip - one client address sends it all
    argv = [
        sys.executable, "-m", "uvicorn", "--factory", "collect:make_app",
        "--app-dir", str(Path(__file__).parent), "--host", "127.0.0.1", "--port", str(port),
        "--log-level", "warning", "--no-access-log", "--no-proxy-headers",
    ]  # fmt: skip
    server = subprocess.Popen(argv, env=env)
    try:
        for _ in range(300):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                    break
            except OSError:
                time.sleep(0.05)
        cookie = (
            "schutz_consent=" + Choices(new_visitor_id(), "2026-11", {"analytics": True}).encode()
        )
        cookie += "; schutz_vid=" + new_visitor_id()
        beacon = _request("POST", "/api/v1/collect", b'{"path":"/shop","referrer":""}', cookie)
        health = _request("GET", "/healthz", b"", cookie)
        opts = {"clients": args.clients, "connections": args.connections, "seconds": args.seconds}
        load(port, health, **{**opts, "seconds": 1.0})  # warm-up
        ceiling = load(port, health, **opts)
        noop = load(port, _request("GET", "/bench/noop", b"", cookie), **opts)
        collect = load(port, beacon, **opts)
        time.sleep(1.0)  # the last flush interval
    finally:
        server.terminate()  # a clean stop writes what the batch still holds
        server.wait(timeout=30)
    with make_session_factory(engine)() as session:
        stored = session.scalar(select(func.count()).select_from(PageView)) or 0
        leaked = session.scalar(
            select(func.count()).select_from(PageView).where(PageView.ip_truncated != "203.0.113.0")
        )
    engine.dispose()
    return {
        "healthz": ceiling,
        "noop": noop,
        "collect": collect,
        "stored": float(stored),
        "expected": collect * args.seconds,
        "leaked": float(leaked or 0),
    }


# --- storage path against a plain batch INSERT ----------------------------------------------


def _rows() -> list[PageViewIn]:
    now = datetime(2026, 11, 20, tzinfo=UTC)
    return [
        PageViewIn(
            now + timedelta(seconds=i), f"/p/{i % 50}", None, "203.0.113.0", f"v{i % 5000:021d}"
        )
        for i in range(ROWS)
    ]


def storage_figures(url: str) -> dict[str, float] | None:
    try:
        engine = make_engine(url)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception:
        return None
    migrate(engine)
    rows = _rows()
    sessions = make_session_factory(engine)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM page_view"))
    start = time.perf_counter()
    for i in range(0, ROWS, BATCH):
        with sessions() as session, session.begin():
            store_page_views(session, rows[i : i + BATCH])
    ours = ROWS / (time.perf_counter() - start)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM page_view"))
    sql = PLAIN_INSERT[engine.dialect.name]
    plain = [(r.at, r.path, r.referrer, r.ip_truncated, r.visitor_id) for r in rows]
    start = time.perf_counter()
    for i in range(0, ROWS, BATCH):
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.executemany(sql, plain[i : i + BATCH])
            raw.commit()
        finally:
            raw.close()
    baseline = ROWS / (time.perf_counter() - start)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM page_view"))
    engine.dispose()
    return {"ours": ours, "plain": baseline}


def report(http: dict[str, float], storage: dict[str, dict[str, float] | None], args: Any) -> str:
    ratio = http["collect"] / http["healthz"]
    lines = [
        SECTION,
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d} on {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}; one uvicorn worker; load: {args.clients} processes x "
        f"{args.connections} keep-alive connections, {args.seconds:.0f} s each.",
        "",
        "| path | requests/s | vs /healthz |",
        "|---|---:|---:|",
        f"| `GET /healthz` (framework ceiling) | {http['healthz']:,.0f} | 1.00 |",
        f"| `GET /bench/noop` (same stack, async route, no work) | {http['noop']:,.0f} | "
        f"{http['noop'] / http['healthz']:.2f} |",
        f"| `POST /api/v1/collect` (guard, consent check, truncation, batch) | "
        f"{http['collect']:,.0f} | {ratio:.2f} |",
        "",
        f"`/api/v1/collect` reaches {http['collect'] / http['noop']:.2f} of the no-op route. "
        "`/healthz` is a sync route that runs a database query in the thread pool, so it sits "
        "below the beacon, which touches no database on the request path.",
        "",
        f"Page views stored after the run: {http['stored']:,.0f} of ~{http['expected']:,.0f} "
        f"answered; rows with anything but the truncated address: {http['leaked']:,.0f}. "
        "The batch is written every 250 ms or every 2,000 rows: a crash loses at most one "
        "flush interval; a clean stop loses nothing.",
        "",
        f"Storage path, {ROWS:,} rows in batches of {BATCH:,} (one transaction each):",
        "",
        "| backend | `store_page_views` rows/s | plain DB-API executemany rows/s | ratio |",
        "|---|---:|---:|---:|",
    ]
    for backend, fig in storage.items():
        if fig is None:
            lines.append(f"| {backend} | not reachable | | |")
        else:
            lines.append(
                f"| {backend} | {fig['ours']:,.0f} | {fig['plain']:,.0f} | "
                f"{fig['ours'] / fig['plain']:.2f} |"
            )
    return "\n".join(lines) + "\n"


def write_section(path: Path, section: str) -> None:
    """Replace the `## Analytics ingest` section of `path`, or append it."""
    old = path.read_text() if path.exists() else "# Benchmarks\n"
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.MULTILINE | re.DOTALL)
    new = (
        pattern.sub(lambda _m: section + "\n", old)
        if pattern.search(old)
        else (old.rstrip("\n") + "\n\n" + section)
    )
    path.write_text(new)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="?", type=Path)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--clients", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        http = http_figures(args, Path(tmp))
        storage = {
            "SQLite": storage_figures(f"sqlite:///{Path(tmp) / 'storage.db'}"),
            "PostgreSQL": storage_figures(PG_URL),
        }
    section = report(http, storage, args)
    print(section)
    if args.results:
        write_section(args.results, section)


if __name__ == "__main__":
    main()
