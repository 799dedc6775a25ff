"""HTTP edge: Schutz's hot paths under wrk, beside a bare Starlette "hello" on the same uvicorn.

Usage: python bench/serve.py [RESULTS.md] [--seconds 5] [--connections 32,100,500]

Two servers on 127.0.0.1, each one uvicorn process started the same way (`uvicorn.run`,
access log and proxy headers off, as `schutz serve` does): `schutz serve --no-worker` on a
migrated SQLite file with a few seeded subjects (collect's rate limit lifted: all load comes
from one address), and a bare Starlette app answering "hello". For each connection count,
wrk (`-t2`) loads the bare app first, then every Schutz path for the same time; the ratio is
Schutz's requests/s over the bare app's in that round. Failures are wrk's non-2xx/3xx answers
and socket errors (timeouts at 30 s count: a stalled server shows up there), plus every 5xx
the server logged. With RESULTS.md, its `## HTTP edge` section is replaced (or appended).

(Not `bench/http.py`: a script's folder comes first on `sys.path`, and a module named `http`
would hide the standard library's from uvicorn.)
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from schutz.audit.keys import bind_audit_key, load_audit_key
from schutz.clock import utcnow
from schutz.config import Settings
from schutz.cookies.choices import Choices, new_visitor_id
from schutz.db import make_engine, make_session_factory, migrate
from schutz.identity.service import create_api_key

SECTION = "## HTTP edge"
SUBJECTS = 20
WRK_TIMEOUT = "30s"


@dataclass(frozen=True)
class Target:
    """One request wrk repeats: what the table calls it, and how it is sent."""

    label: str
    method: str
    path: str
    headers: tuple[tuple[str, str], ...] = ()
    body: str | None = None


@dataclass(frozen=True)
class Run:
    requests_per_second: float
    requests: int
    failed: int
    server_5xx: int


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def serve_bare(port: int) -> None:
    """The baseline: Starlette's smallest app on the same uvicorn settings as `schutz serve`."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    async def hello(_request: Request) -> PlainTextResponse:
        return PlainTextResponse("hello")

    app = Starlette(routes=[Route("/", hello)])
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        proxy_headers=False,
    )


def _wait_up(port: int, process: subprocess.Popen[bytes], path: str) -> None:
    for _ in range(600):
        if process.poll() is not None:
            raise SystemExit(f"server exited with {process.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", path)
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("server did not come up")


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _api_key(database_url: str, data_dir: Path) -> str:
    engine = make_engine(database_url)
    migrate(engine)
    # The server's audit key, created here in its data dir, so the key's entry verifies.
    settings = Settings(data_dir=data_dir, database_url=database_url)
    bind_audit_key(engine, load_audit_key(settings))
    with make_session_factory(engine)() as session:
        _, key = create_api_key(
            session, name="bench-shop", role="shop", actor="bench", now=utcnow()
        )
        session.commit()
    engine.dispose()
    return key


def _seed(port: int, key: str) -> list[str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    ids = []
    for i in range(SUBJECTS):
        body = {
            "source": "order",
            "purposes": ["order_processing", "billing"],
            "data": {
                "email": f"edge{i}@example.org",
                "name": f"Edge Customer {i}",
                "postal_address": {
                    "street": f"Teststrasse {i}",
                    "postal_code": "10115",
                    "city": "Berlin",
                    "country": "DE",
                },
            },
        }
        conn.request("POST", "/api/v1/subjects", body=json.dumps(body), headers=headers)
        answer = conn.getresponse()
        data = answer.read()
        if answer.status not in (200, 201):
            raise SystemExit(f"seeding failed: {answer.status} {data[:200]!r}")
        ids.append(json.loads(data)["subject_id"])
    conn.close()
    return ids


def _etag(port: int, path: str, headers: dict[str, str]) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", path, headers=headers)
    answer = conn.getresponse()
    answer.read()
    conn.close()
    return answer.getheader("ETag") or '"none"'


def paths(port: int, key: str, subject: str) -> list[Target]:
    consent = Choices(new_visitor_id(), "2026-11", {"analytics": True}).encode()
    cookie = f"schutz_consent={consent}; schutz_vid={new_visitor_id()}"
    bearer = (("Authorization", f"Bearer {key}"),)
    etag = _etag(port, "/privacy", {})
    return [
        Target("`GET /healthz`", "GET", "/healthz"),
        Target("`GET /readyz`", "GET", "/readyz"),
        Target(
            "`POST /api/v1/collect` (analytics consent)",
            "POST",
            "/api/v1/collect",
            (("Content-Type", "application/json"), ("Cookie", cookie)),
            '{"path": "/shop/cl390", "referrer": "https://example.org/"}',
        ),
        Target("`GET /privacy`", "GET", "/privacy"),
        Target(
            "`GET /privacy` with If-None-Match (304)", "GET", "/privacy", (("If-None-Match", etag),)
        ),
        Target(
            "`GET /privacy?lang=de` (choices made)",
            "GET",
            "/privacy?lang=de",
            (("Cookie", cookie),),
        ),
        Target("`GET /privacy/versions`", "GET", "/privacy/versions"),
        Target("`GET /privacy/changes`", "GET", "/privacy/changes"),
        Target("`GET /privacy/feed.atom`", "GET", "/privacy/feed.atom"),
        Target("`GET /cookies`", "GET", "/cookies"),
        Target(
            "`GET /api/v1/subjects/{id}?purpose=order_processing` (audited read)",
            "GET",
            f"/api/v1/subjects/{subject}?purpose=order_processing",
            bearer,
        ),
    ]


def _lua(target: Target, folder: Path) -> Path:
    script = folder / "request.lua"
    lines = [f"wrk.method = {json.dumps(target.method)}"]
    if target.body is not None:
        lines.append(f"wrk.body = {json.dumps(target.body)}")
    lines += [f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in target.headers]
    script.write_text("\n".join(lines) + "\n")
    return script


_RATE = re.compile(r"Requests/sec:\s+([\d.]+)")
_TOTAL = re.compile(r"(\d+) requests in")
_NON2XX = re.compile(r"Non-2xx or 3xx responses: (\d+)")
_SOCKET = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")


def wrk(url: str, connections: int, seconds: float, script: Path | None) -> tuple[float, int, int]:
    """(requests/s, requests, failed) of one wrk run."""
    argv = ["wrk", "-t2", f"-c{connections}", f"-d{seconds:g}s", "--timeout", WRK_TIMEOUT]
    if script is not None:
        argv += ["-s", str(script)]
    out = subprocess.run([*argv, url], capture_output=True, text=True, check=True).stdout
    rate, total = _RATE.search(out), _TOTAL.search(out)
    if rate is None or total is None:
        raise SystemExit(f"cannot read wrk's output:\n{out}")
    failed = int(m.group(1)) if (m := _NON2XX.search(out)) else 0
    if sock := _SOCKET.search(out):
        failed += sum(int(n) for n in sock.groups())
    return float(rate.group(1)), int(total.group(1)), failed


def _server_5xx(log: Path) -> int:
    return sum(
        1
        for line in log.read_text(errors="replace").splitlines()
        if '"logger": "schutz.access"' in line and re.search(r'"status": 5\d\d', line)
    )


def measure(
    targets: list[Target],
    port: int,
    bare_port: int,
    log: Path,
    args: argparse.Namespace,
    folder: Path,
) -> dict[int, dict[str, tuple[Run, Run]]]:
    """Every path at every connection count, each right after a run of the bare app (the
    machine's load drifts; a pair measured back to back shares it)."""
    results: dict[int, dict[str, tuple[Run, Run]]] = {}
    bare_url = f"http://127.0.0.1:{bare_port}/"
    for connections in args.connections:
        round_: dict[str, tuple[Run, Run]] = {}
        for target in targets:
            bare = Run(*wrk(bare_url, connections, args.seconds, None), 0)
            before = _server_5xx(log)
            rate, total, failed = wrk(
                f"http://127.0.0.1:{port}{target.path}",
                connections,
                args.seconds,
                _lua(target, folder),
            )
            run = Run(rate, total, failed, _server_5xx(log) - before)
            round_[target.label] = (run, bare)
            print(
                f"c{connections} {target.label}: {rate:,.0f}/s "
                f"(bare {bare.requests_per_second:,.0f}/s), {failed} failed",
                flush=True,
            )
        results[connections] = round_
    return results


Results = dict[int, dict[str, tuple[Run, Run]]]


def report(targets: list[Target], results: Results, seconds: float) -> str:
    levels = sorted(results)
    first, last = levels[0], levels[-1]
    head = (
        "| path | "
        + " | ".join(f"c{c} req/s | c{c} bare | c{c} ratio | c{c} failed" for c in levels)
        + f" | c{last} vs c{first} |"
    )
    lines = [
        SECTION,
        "",
        f"`bench/serve.py`: wrk -t2 for {seconds:g} s per cell, against "
        f"`schutz serve --no-worker` (SQLite, {SUBJECTS} seeded subjects, JSON access log on) "
        "and a bare Starlette `hello` on the same uvicorn, one process each, on 127.0.0.1; "
        f"{os.cpu_count()} cores shared with the load generator (and, on this machine, with "
        f"other jobs: absolute figures drift), Python {platform.python_version()}. Each Schutz "
        "run follows a bare run at the same connection count; ratio: Schutz's requests/s over "
        "that bare run's. Failed: wrk's non-2xx/3xx answers, socket errors and timeouts (30 s), "
        f"plus 5xx in the server's log. c{last} vs c{first}: the ratio at {last} connections "
        f"over the ratio at {first} (1.00: Schutz holds up under load as well as the bare app).",
        "",
        head,
        "|---|" + "---:|" * (4 * len(levels) + 1),
    ]
    for target in targets:
        cells = []
        ratios = {}
        for c in levels:
            run, bare = results[c][target.label]
            ratios[c] = run.requests_per_second / bare.requests_per_second
            cells += [
                f"{run.requests_per_second:,.0f}",
                f"{bare.requests_per_second:,.0f}",
                f"{ratios[c]:.3f}",
                f"{run.failed + run.server_5xx:,}",
            ]
        spread = ratios[last] / ratios[first] if ratios[first] else 0.0
        lines.append(f"| {target.label} | " + " | ".join(cells) + f" | {spread:.2f} |")
    return "\n".join(lines) + "\n"


def write_section(path: Path, section: str) -> None:
    """Replace the `## HTTP edge` section of `path`, or append it."""
    current = path.read_text() if path.exists() else ""
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.MULTILINE | re.DOTALL)
    if pattern.search(current):
        updated = pattern.sub(lambda _: section + "\n", current)
    else:
        updated = current.rstrip("\n") + ("\n\n" if current else "") + section
    path.write_text(updated)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("results", nargs="?", type=Path)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument(
        "--connections", type=lambda s: [int(n) for n in s.split(",")], default=[32, 100, 500]
    )
    parser.add_argument("--only", default="", help="Run only paths whose label contains this.")
    parser.add_argument("--bare-server", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare_server:
        serve_bare(args.bare_server)
        return
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install -y wrk (scripts/bench.sh does)")
    work = Path(tempfile.mkdtemp(prefix="schutz-edge-"))
    database_url = f"sqlite:///{work / 'schutz.db'}"
    key = _api_key(database_url, work)
    port, bare_port = _free_port(), _free_port()
    env = {
        **os.environ,
        "SCHUTZ_DATA_DIR": str(work),
        "SCHUTZ_DATABASE_URL": database_url,
        "SCHUTZ_RATE_LIMIT_COLLECT": "off",
    }
    log = work / "server.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "schutz", "serve", "--port", str(port), "--no-worker"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    bare = subprocess.Popen([sys.executable, __file__, "--bare-server", str(bare_port)])
    try:
        _wait_up(port, server, "/healthz")
        _wait_up(bare_port, bare, "/")
        subjects = _seed(port, key)
        targets = [t for t in paths(port, key, subjects[0]) if args.only in t.label]
        results = measure(targets, port, bare_port, log, args, work)
    finally:
        _stop(server)
        _stop(bare)
    section = report(targets, results, args.seconds)
    print(section)
    if args.results:
        write_section(args.results, section)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
