"""Load: mixed traffic against a real uvicorn on 127.0.0.1, then a count of what was stored.

Usage: python bench/load.py [RESULTS.md] [--seconds 60] [--clients C] [--scale-out]

One uvicorn process serving Schutz (as `schutz serve` runs it, embedded worker off, rate
limits lifted: every request comes from 127.0.0.1) on SQLite, and on PostgreSQL when
SCHUTZ_TEST_DATABASE_URL (default the local server) answers. C client processes each keep
one HTTP/1.1 connection and send the next request as soon as the last is answered (closed
loop, so the rate is the highest the machine holds) for S seconds, in this mix:

  40 %  POST /api/v1/collect            page views (with analytics consent: stored)
  20 %  POST /api/v1/consents           objections and grants for stored subjects
  25 %  GET  /api/v1/subjects/{id}      purpose-checked reads (decrypt, decide, audit)
  15 %  POST /api/v1/orders             orders (seal, three disclosures, outbox, audit)

Afterwards the server is stopped (its page-view batch is written on shutdown) and rows are
counted: page views, consent events and orders must equal the 2xx answers (no lost writes).
With RESULTS.md, its `## Load` section is replaced (or appended).

`--scale-out` runs the same mix on PostgreSQL against one server and then two (each on a
fresh schema) and writes the `## Scale-out` section: requests per second and the ratio.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import platform
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text

from schutz.analytics.models import PageView
from schutz.audit.keys import bind_audit_key, load_audit_key, write_new_audit_key
from schutz.clock import utcnow
from schutz.config import Settings
from schutz.consent.models import ConsentEvent
from schutz.cookies.choices import Choices, new_visitor_id
from schutz.db import POOL_SIZE, make_engine, make_session_factory, migrate
from schutz.disclosures.models import Order
from schutz.identity.service import create_api_key

SECTION = "## Load"
SCALE_SECTION = "## Scale-out: 1 and 2 servers on PostgreSQL"
SUBJECTS = 200
MIX = (("collect", 40), ("consent", 20), ("read", 25), ("order", 15))
PG_URL = os.environ.get(
    "SCHUTZ_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _request(
    conn: http.client.HTTPConnection, method: str, path: str, body: Any, headers: dict[str, str]
) -> tuple[int, bytes]:
    payload = None if body is None else json.dumps(body).encode()
    conn.request(method, path, body=payload, headers=headers)
    response = conn.getresponse()
    return response.status, response.read()


def _client(port: int, key: str, subjects: list[str], seconds: float, seed: int) -> dict[str, Any]:
    """One closed-loop client; returns latencies (ms) and status counts per endpoint."""
    rng = random.Random(seed)
    names = [name for name, weight in MIX for _ in range(weight)]
    api = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    cookie = f"schutz_consent={Choices(new_visitor_id(), '2026-11', {'analytics': True}).encode()}"
    beacon = {"Content-Type": "application/json", "Cookie": cookie}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    latencies: dict[str, list[float]] = {name: [] for name, _ in MIX}
    statuses: dict[str, dict[int, int]] = {name: {} for name, _ in MIX}
    deadline = time.monotonic() + seconds
    n = 0
    while time.monotonic() < deadline:
        name = rng.choice(names)
        subject = rng.choice(subjects)
        n += 1
        if name == "collect":
            args: tuple[str, str, Any, dict[str, str]] = (
                "POST", "/api/v1/collect", {"path": f"/shop/p{n % 50}", "referrer": ""}, beacon,
            )  # fmt: skip
        elif name == "consent":
            action = rng.choice(("grant", "object"))
            purpose = "direct_marketing" if action == "object" else "market_research"
            body = {"subject_id": subject, "purpose": purpose, "action": action,
                    "channel": "api", "evidence": "load"}  # fmt: skip
            args = ("POST", "/api/v1/consents", body, api)
        elif name == "read":
            args = ("GET", f"/api/v1/subjects/{subject}?purpose=order_processing", None, api)
        else:
            order = {
                "subject_id": subject,
                "order_ref": f"L-{seed}-{n}",
                "items": [{"sku": "CL390", "name": "Gigaset CL390", "quantity": 1,
                           "unit_price": 39.99}],
                "total": "39.99",
                "currency": "EUR",
                "payment": {"method": "card", "reference": f"PAY-{seed}-{n}"},
            }  # fmt: skip
            args = ("POST", "/api/v1/orders", order, api)
        started = time.perf_counter()
        try:
            status, _ = _request(conn, *args)
        except (OSError, http.client.HTTPException):
            status = 599
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        latencies[name].append((time.perf_counter() - started) * 1000)
        statuses[name][status] = statuses[name].get(status, 0) + 1
    conn.close()
    return {"latencies": latencies, "statuses": statuses}


def _client_entry(args: tuple[int, str, list[str], float, int], queue: Any) -> None:
    queue.put(_client(*args))


def _wait_healthy(port: int, process: subprocess.Popen[bytes]) -> None:
    for _ in range(300):
        if process.poll() is not None:
            raise SystemExit(f"uvicorn exited with {process.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("uvicorn did not come up")


def _seed(port: int, key: str) -> list[str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    ids = []
    for i in range(SUBJECTS):
        body = {
            "source": "order",
            "purposes": ["order_processing", "billing"],
            "data": {"email": f"load{i}@example.org", "name": f"Load Customer {i}",
                     "postal_address": {"street": f"Teststrasse {i}", "postal_code": "10115",
                                        "city": "Berlin", "country": "DE"}},
        }  # fmt: skip
        status, answer = _request(conn, "POST", "/api/v1/subjects", body, headers)
        if status not in (200, 201):
            raise SystemExit(f"seeding failed: {status} {answer[:200]!r}")
        ids.append(json.loads(answer)["subject_id"])
    conn.close()
    return ids


def _counts(database_url: str) -> dict[str, int]:
    engine = make_engine(database_url)
    with make_session_factory(engine)() as session:
        counts = {
            "collect": session.scalar(select(func.count()).select_from(PageView)) or 0,
            "consent": session.scalar(select(func.count()).select_from(ConsentEvent)) or 0,
            "order": session.scalar(select(func.count()).select_from(Order)) or 0,
        }
    engine.dispose()
    return counts


def _start_server(port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    argv = [
        sys.executable, "-m", "uvicorn", "--factory", "schutz.web.app:create_app",
        "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
        "--no-access-log", "--no-proxy-headers",
    ]  # fmt: skip
    return subprocess.Popen(argv, env={**env, "SCHUTZ_BASE_URL": f"http://127.0.0.1:{port}"})


def _stop(server: subprocess.Popen[bytes]) -> None:
    server.send_signal(signal.SIGINT)  # lifespan shutdown writes the page-view batch
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def run_backend(
    label: str, database_url: str, seconds: float, clients: int, servers: int = 1
) -> dict[str, Any]:
    """`servers` uvicorn processes on one database; client i talks to server i mod N."""
    work = Path(tempfile.mkdtemp(prefix="schutz-load-"))
    key_file = work / "audit.key"
    write_new_audit_key(key_file)  # the servers chain under it too (SCHUTZ_AUDIT_KEY_FILE)
    engine = make_engine(database_url)
    bind_audit_key(engine, load_audit_key(Settings(audit_key_file=key_file)))
    migrate(engine)
    with make_session_factory(engine)() as session:
        _, key = create_api_key(session, name="load-shop", role="shop", actor="bench", now=utcnow())
        session.commit()
    engine.dispose()
    ports = [_free_port() for _ in range(servers)]
    env = {
        **os.environ,
        "SCHUTZ_DATA_DIR": str(work),
        "SCHUTZ_DATABASE_URL": database_url,
        "SCHUTZ_AUDIT_KEY_FILE": str(key_file),
        "SCHUTZ_RATE_LIMIT_COLLECT": "off",
    }
    processes = [_start_server(port, env) for port in ports]
    try:
        for port, process in zip(ports, processes, strict=True):
            _wait_healthy(port, process)
        subjects = _seed(ports[0], key)
        before = _counts(database_url)
        queue: Any = multiprocessing.Queue()
        procs = [
            multiprocessing.Process(
                target=_client_entry,
                args=((ports[i % servers], key, subjects, seconds, i), queue),
            )
            for i in range(clients)
        ]
        started = time.perf_counter()
        for proc in procs:
            proc.start()
        results = [queue.get() for _ in procs]
        elapsed = time.perf_counter() - started
        for proc in procs:
            proc.join()
    finally:
        for process in processes:
            _stop(process)
    after = _counts(database_url)
    latencies: dict[str, list[float]] = {name: [] for name, _ in MIX}
    statuses: dict[str, dict[int, int]] = {name: {} for name, _ in MIX}
    for result in results:
        for name, values in result["latencies"].items():
            latencies[name].extend(values)
        for name, counts in result["statuses"].items():
            for status, n in counts.items():
                statuses[name][int(status)] = statuses[name].get(int(status), 0) + n
    ok = {name: sum(n for s, n in statuses[name].items() if 200 <= s < 300) for name, _ in MIX}
    stored = {name: after[name] - before[name] for name in after}
    return {
        "label": label,
        "seconds": elapsed,
        "latencies": latencies,
        "statuses": statuses,
        "ok": ok,
        "stored": stored,
    }


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


ENDPOINTS = {
    "collect": "`POST /api/v1/collect`",
    "consent": "`POST /api/v1/consents`",
    "read": "`GET /api/v1/subjects/{id}`",
    "order": "`POST /api/v1/orders`",
}


def report(runs: list[dict[str, Any]], seconds: float, clients: int) -> str:
    lines = [
        SECTION,
        "",
        f"`bench/load.py`: {seconds:.0f} s of mixed traffic per backend from {clients} client "
        f"processes (closed loop, one kept-alive connection each) against one uvicorn process "
        f"on 127.0.0.1; {os.cpu_count()} cores, Python {platform.python_version()}. "
        f"{SUBJECTS} subjects stored first. Mix: page views 40 %, consents 20 %, subject "
        "reads 25 %, orders 15 %. Lost writes: 2xx answers minus rows counted afterwards.",
        "",
    ]
    for run in runs:
        total = sum(len(v) for v in run["latencies"].values())
        errors = sum(
            n for counts in run["statuses"].values() for s, n in counts.items() if s >= 300
        )
        lines += [
            f"### {run['label']}",
            "",
            f"{total:,} requests in {run['seconds']:.1f} s: **{total / run['seconds']:,.0f} "
            f"requests/s**, {errors} errors.",
            "",
            "| endpoint | requests | per second | p50 ms | p99 ms | errors | 2xx | rows | lost |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for name, _ in MIX:
            values = run["latencies"][name]
            bad = sum(n for s, n in run["statuses"][name].items() if s >= 300)
            stored = run["stored"].get(name)
            rows = "—" if stored is None else f"{stored:,}"
            lost = "—" if stored is None else f"{run['ok'][name] - stored:,}"
            lines.append(
                f"| {ENDPOINTS[name]} | {len(values):,} | {len(values) / run['seconds']:,.0f} | "
                f"{_pct(values, 0.5):.1f} | {_pct(values, 0.99):.1f} | {bad} | "
                f"{run['ok'][name]:,} | {rows} | {lost} |"
            )
        odd = {n: c for n, c in run["statuses"].items() if any(s >= 300 for s in c)}
        if odd:
            lines += ["", f"Statuses of failed requests: `{odd}`"]
        lines.append("")
    return "\n".join(lines)


def scale_report(one: dict[str, Any], two: dict[str, Any], seconds: float, clients: int) -> str:
    """The `## Scale-out` section: the same mix against one and two servers on PostgreSQL."""
    rates = []
    for run in (one, two):
        total = sum(len(v) for v in run["latencies"].values())
        errors = sum(n for c in run["statuses"].values() for s, n in c.items() if s >= 300)
        lost = sum(run["ok"][name] - stored for name, stored in run["stored"].items())
        p99 = _pct([v for values in run["latencies"].values() for v in values], 0.99)
        rates.append((run["label"], total / run["seconds"], p99, errors, lost))
    base = rates[0][1]
    lines = [
        SCALE_SECTION,
        "",
        f"`bench/load.py --scale-out`: the mix of `## Load` for {seconds:.0f} s from {clients} "
        "client processes against one, then two uvicorn processes (each its own pool of "
        f"{POOL_SIZE} connections) on one PostgreSQL schema; client i talks to server i mod N. "
        f"**This machine has {os.cpu_count()} cores**, which PostgreSQL, the load generator "
        "and the servers share (other work ran beside it): a second server adds no core, so "
        "the ratio shows what a second process costs or gains on the same cores, not what a "
        "second machine would add. Rate limits are shared rows on PostgreSQL; the load comes "
        "from one address, so the beacon's limit is lifted as in `## Load`.",
        "",
        "| servers | requests/s | p99 ms (all) | errors | lost writes | vs 1 server |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for label, rate, p99, errors, lost in rates:
        lines.append(
            f"| {label} | {rate:,.0f} | {p99:,.1f} | {errors} | {lost} | {rate / base:.2f} |"
        )
    return "\n".join([*lines, ""])


def write_section(path: Path, section: str) -> None:
    """Replace the section `section` starts with (its first line) in `path`, or append it."""
    current = path.read_text() if path.exists() else ""
    heading = section.split("\n", 1)[0]
    pattern = re.compile(rf"^{re.escape(heading)}\n.*?(?=^## |\Z)", re.MULTILINE | re.DOTALL)
    if pattern.search(current):
        updated = pattern.sub(lambda _: section + "\n", current)
    else:
        updated = current.rstrip("\n") + ("\n\n" if current else "") + section + "\n"
    path.write_text(updated)


def _postgres_url() -> str | None:
    """A fresh schema on the test server, or None when it does not answer."""
    try:
        admin = make_engine(PG_URL)
        schema = f"load_{uuid.uuid4().hex[:10]}"
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        admin.dispose()
    except Exception as exc:
        print(f"PostgreSQL not reachable, SQLite only: {type(exc).__name__}")
        return None
    sep = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{sep}options=-csearch_path%3D{schema}"


def _drop_schema(url: str) -> None:
    schema = url.rsplit("%3D", 1)[1]
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def scale_out(results: Path | None, seconds: float, clients: int) -> None:
    runs = []
    for servers in (1, 2):
        pg = _postgres_url()
        if pg is None:
            raise SystemExit("--scale-out needs PostgreSQL")
        try:
            label = f"{servers} server" + ("s" if servers > 1 else "")
            runs.append(run_backend(label, pg, seconds, clients, servers=servers))
        finally:
            _drop_schema(pg)
    section = scale_report(runs[0], runs[1], seconds, clients)
    print(section)
    if results:
        write_section(results, section)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="?", type=Path)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--clients", type=int, default=max(2, os.cpu_count() or 2))
    parser.add_argument(
        "--scale-out", action="store_true", help="PostgreSQL only: 1 server, then 2 servers."
    )
    args = parser.parse_args()
    if args.scale_out:
        scale_out(args.results, args.seconds, args.clients)
        return
    sqlite_dir = Path(tempfile.mkdtemp(prefix="schutz-load-db-"))
    runs = [run_backend("SQLite", f"sqlite:///{sqlite_dir / 'schutz.db'}", args.seconds,
                        args.clients)]  # fmt: skip
    pg = _postgres_url()
    if pg:
        try:
            runs.append(run_backend("PostgreSQL", pg, args.seconds, args.clients))
        finally:
            _drop_schema(pg)
    section = report(runs, args.seconds, args.clients)
    print(section)
    if args.results:
        write_section(args.results, section)
    lost = sum(run["ok"][name] - stored for run in runs for name, stored in run["stored"].items())
    errors = sum(
        n for run in runs for c in run["statuses"].values() for s, n in c.items() if s >= 300
    )
    if lost or errors:
        raise SystemExit(f"load run failed: {errors} errors, {lost} lost writes")


if __name__ == "__main__":
    main()
