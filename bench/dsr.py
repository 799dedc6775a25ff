"""Data-subject requests over HTTP: access and erasure among 1,000,000 subjects (PostgreSQL).

Usage: python bench/dsr.py [RESULTS.md] [--subjects 1000000] [--requests 40] [--keep-db]
       [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/schutz_dsr_bench]

`schutz serve` (outbox worker on, mail as .eml files) on a database of its own. Real subjects
come in over HTTP, the rest of SUBJECTS are cloned in PostgreSQL from the first one's rows with
new ids and blind indexes; `--keep-db` keeps them for the next run. The shop files each
request, the worker mails the link, the subject confirms; access is timed from the confirming
call until the status says `completed`, erasure from the DPO's approval until a read of the
subject answers 404. With RESULTS.md, its `## Data-subject requests at N subjects` section is
replaced (or appended).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes
from email.policy import default
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from load import write_section
from serve import _free_port, _stop, _wait_up
from sqlalchemy import text
from sqlalchemy.engine import make_url

from schutz.audit.keys import bind_audit_key, load_audit_key
from schutz.clock import utcnow
from schutz.config import Settings
from schutz.db import make_engine, make_session_factory, migrate
from schutz.identity.service import create_api_key
from schutz.models import metadata

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/schutz_dsr_bench"
WARMUP = 3
POLL = 0.002  # seconds between two looks at a status or at the outbox folder
CHUNK = 100_000  # filler subjects per transaction
GOALS = {"access": (50, 234), "erasure": (50, 441)}  # ms: issue 16's goal, Fides' median
MARKER = "fill.json"
Round = dict[str, Any]

# Each table with rows of a subject, and the column naming it. Filler ids grow with the
# series, so their B-trees append; the blind index is a hash, spread like a real one.
CLONES = {"vault_subject": "id", "vault_field": "subject_id", "consent_event": "subject_id"}
ADDRESS = {"postal_code": "10115", "city": "Berlin", "country": "DE"}
NEW = {"email_index": "sha256(convert_to('dsr-fill:' || i, 'UTF8'))"}


@dataclass
class Bench:
    url: str
    data_dir: Path
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    keys: dict[str, str] = field(default_factory=dict)
    port: int = 0


class Api(http.client.HTTPConnection):
    """One keep-alive HTTP/1.1 connection to the server, as a shop's client holds it."""

    def call(
        self, method: str, path: str, key: str = "", body: Any = None, rid: str = ""
    ) -> tuple[int, bytes]:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        if key:
            headers["Authorization"] = f"Bearer {key}"
        if rid:
            headers["X-Request-ID"] = rid  # finds the call's line in the server's access log
        self.request(method, path, None if body is None else json.dumps(body), headers)
        answer = self.getresponse()
        return answer.status, answer.read()

    def json(self, method: str, path: str, key: str = "", body: Any = None, ok: int = 200) -> Any:
        status, data = self.call(method, path, key, body)
        if status != ok:
            raise SystemExit(f"{method} {path.split('?')[0]}: {status} {data[:300]!r}")
        return json.loads(data)


def until(done: Callable[[], bool], what: str) -> None:
    deadline = time.perf_counter() + 30
    while not done():
        if time.perf_counter() > deadline:
            raise SystemExit(f"gave up waiting for {what}")
        time.sleep(POLL)


class Mailbox:
    """The outbox folder the worker writes; each mail found by its request number."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.seen: set[str] = set()
        self.mails: dict[tuple[str, str], str] = {}

    def read(self) -> dict[tuple[str, str], str]:
        for name in os.listdir(self.folder) if self.folder.exists() else []:
            if not name.endswith(".eml") or name in self.seen:
                continue
            try:
                mail = message_from_bytes((self.folder / name).read_bytes(), policy=default)
            except FileNotFoundError:  # swept after an erasure
                continue
            self.seen.add(name)
            content = str(mail.get_content())  # one text/plain part
            if number := re.search(r"Request number: ([0-9a-f]{32})", content):
                self.mails[(number.group(1), str(mail["Subject"]))] = content
        return self.mails

    def wait(self, request_id: str, subject: str, link: str = "/requests/") -> str:
        """As soon as the worker has written mail `subject` of `request_id`: its link's token."""
        key = (request_id, subject)
        until(lambda: key in self.read(), f"mail {key}")
        found = re.search(re.escape(link) + r"\?token=(\S+)", self.mails[key])
        return unquote(found.group(1)) if found else ""


def reset(bench: Bench, *, create: bool) -> None:
    """Drop the bench's database and data dir; with `create`, make both again, empty."""
    shutil.rmtree(bench.data_dir, ignore_errors=True)
    parsed = make_url(bench.url)
    admin = make_engine(parsed.set(database="postgres").render_as_string(hide_password=False))
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
        if create:
            conn.exec_driver_sql(f'CREATE DATABASE "{parsed.database}"')
            bench.data_dir.mkdir(mode=0o700, parents=True)
    admin.dispose()


def kept_fill(bench: Bench, subjects: int) -> dict[str, Any] | None:
    """What an earlier `--keep-db` run filled, if the database still holds it."""
    try:
        kept: dict[str, Any] = json.loads((bench.data_dir / MARKER).read_text())
        have = _query(bench.url, "SELECT count(*) FROM vault_subject WHERE id LIKE 'f%'")[0]
    except Exception:  # no marker, database or schema: fill again
        return None
    return kept if kept["subjects"] == subjects and have >= kept["fillers"] else None


def make_keys(bench: Bench) -> None:
    """A shop and a DPO API key, with the server's audit key bound first (see serve.py)."""
    engine = make_engine(bench.url)
    migrate(engine)
    settings = Settings(data_dir=bench.data_dir, database_url=bench.url)
    bind_audit_key(engine, load_audit_key(settings))
    with make_session_factory(engine)() as session:
        for role in ("shop", "dpo"):
            name = f"bench-{role}-{bench.tag}"
            _, bench.keys[role] = create_api_key(session, name=name, role=role, actor="bench",
                                                 now=utcnow())  # fmt: skip
        session.commit()
    engine.dispose()


def intake(api: Api, key: str, emails: list[str]) -> list[str]:
    """Real subjects through the API: an order's fields and one ledger entry each."""
    ids = []
    for i, email in enumerate(emails):
        data = {"email": email, "name": f"Bench Customer {i}", "phone": "+49 30 1234567",
                "postal_address": {**ADDRESS, "street": f"Teststrasse {i}"}}  # fmt: skip
        body = {"source": "order", "purposes": ["order_processing", "billing"], "data": data}
        sid = api.json("POST", "/api/v1/subjects", key, body, ok=201)["subject_id"]
        objection = {"subject_id": sid, "purpose": "market_research", "action": "object",
                     "channel": "api", "evidence": "bench"}  # fmt: skip
        api.json("POST", "/api/v1/consents", key, objection, ok=201)
        ids.append(sid)
    return ids


def _clone(table: str) -> str:
    """INSERT ... SELECT of `table`: the template's rows once for every filler number i."""
    subject = CLONES[table]
    names = [c.name for c in metadata.tables[table].columns if c.name not in (subject, "id")]
    values = [NEW.get(c, f"t.{c}") for c in names]
    return (
        f"INSERT INTO {table} ({subject}, {', '.join(names)})"  # noqa: S608 - our own names
        f" SELECT 'f' || lpad(to_hex(i), 31, '0'), {', '.join(values)} FROM {table} t,"
        f" generate_series(CAST(:a AS bigint), :b) AS i WHERE t.{subject} = :template"
    )


def fill(url: str, template: str, last: int) -> float:
    """Filler subjects 1..`last` cloned from `template`'s rows, CHUNK per transaction."""
    engine = make_engine(url)
    started = time.perf_counter()
    for a in range(1, last + 1, CHUNK):
        b = min(a + CHUNK - 1, last)
        with engine.begin() as conn:
            for table in CLONES:
                conn.execute(text(_clone(table)), {"a": a, "b": b, "template": template})
        print(f"filled {b:,} of {last:,} ({time.perf_counter() - started:.0f} s)", flush=True)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql(f"VACUUM (ANALYZE) {', '.join(CLONES)}")
    engine.dispose()
    return time.perf_counter() - started


def _ms(since: float) -> float:
    return (time.perf_counter() - since) * 1000


def file_and_verify(api: Api, mailbox: Mailbox, shop: str, kind: str, email: str) -> Round:
    """File a request as the shop does, wait for the link mail, confirm it as the subject."""
    started = time.perf_counter()
    filed = api.json("POST", "/api/v1/requests", shop, {"kind": kind, "email": email}, ok=202)
    rid = filed["request_id"]
    t: Round = {"id": rid, "submit": _ms(started)}
    token = mailbox.wait(rid, "Please confirm your request", "/requests/verify")
    t["link_mail"] = _ms(started)
    t["t0"] = time.perf_counter()
    status, page = api.call("POST", f"/requests/verify?token={quote(token)}", rid=f"dsr-v-{rid}")
    t["verify"] = _ms(t["t0"])
    if status != 200:
        raise SystemExit(f"verify: {status}")
    t["page"] = page.decode()
    return t


def access_round(api: Api, mailbox: Mailbox, keys: dict[str, str], email: str) -> Round:
    t = file_and_verify(api, mailbox, keys["shop"], "access", email)
    status = f"/api/v1/requests/{t['id']}"
    until(lambda: api.json("GET", status, keys["shop"])["status"] == "completed", status)
    t["ready"] = _ms(t["t0"])
    state = api.json("GET", status, keys["shop"])
    if state["outcome"] != "export_ready" or "/requests/export?token=" not in t["page"]:
        raise SystemExit(f"access request {t['id']}: {state['outcome']}, no export link")
    token = mailbox.wait(t["id"], "Your personal data: download", "/requests/export")
    t["export_mail"] = _ms(t["t0"])
    started = time.perf_counter()
    package = api.json("GET", f"/requests/export.json?token={quote(token)}")
    t["download"] = _ms(started)
    values = {f["field"]: f["value"] for f in package["personal_data"]}
    if values.get("email") != email or not package["consents"]["history"]:
        raise SystemExit(f"access request {t['id']}: the package is not the subject's")
    return t


def erasure_round(api: Api, mailbox: Mailbox, keys: dict[str, str], email: str, sid: str) -> Round:
    t = file_and_verify(api, mailbox, keys["shop"], "erasure", email)
    t["t0"] = time.perf_counter()
    path = f"/api/v1/requests/{t['id']}/approve"
    status, data = api.call("POST", path, keys["dpo"], {}, rid=f"dsr-a-{t['id']}")
    t["approve"] = _ms(t["t0"])
    if status != 200 or json.loads(data)["outcome"] != "erased":
        raise SystemExit(f"approve: {status} {data[:300]!r}")
    read = f"/api/v1/subjects/{sid}?purpose=order_processing"
    until(lambda: api.call("GET", read, keys["shop"])[0] == 404, read)
    t["gone"] = _ms(t["t0"])
    mailbox.wait(t["id"], "Your personal data has been erased")
    t["erased_mail"] = _ms(t["t0"])
    return t


def add_server_ms(runs: dict[str, list[Round]], log: Path) -> None:
    """The server's own duration_ms of each confirming and approving call (access log)."""
    lines = [json.loads(x) for x in log.read_text().splitlines() if '"request_id": "dsr-' in x]
    found = {entry["request_id"]: float(entry["duration_ms"]) for entry in lines}
    for t in runs["access"] + runs["erasure"]:
        t["verify_server"] = found[f"dsr-v-{t['id']}"]
        t["approve_server"] = found.get(f"dsr-a-{t['id']}", 0.0)


def _query(url: str, sql: str, **params: Any) -> Any:
    engine = make_engine(url)
    with engine.connect() as conn:
        row = conn.execute(text(sql), params).one()
    engine.dispose()
    return row


def vault_state(url: str, shredded: list[str]) -> dict[str, Any]:
    """Subjects of `shredded` still holding a key or a field (must be 0), live subjects."""
    left, live, version = _query(
        url,
        "SELECT (SELECT count(*) FROM vault_subject s WHERE s.id = ANY(:ids) AND (s.wrapped_key"
        " IS NOT NULL OR EXISTS (SELECT 1 FROM vault_field f WHERE f.subject_id = s.id))),"
        " (SELECT count(*) FROM vault_subject WHERE erased_at IS NULL),"
        " current_setting('server_version')",
        ids=shredded,
    )
    return {"left": left, "live": live, "pg": version.split()[0]}


ROWS = [  # label, kind, timing, headline (with goal and Fides' figure)
    ("**access: confirming call → status `completed` (export ready)**", "access", "ready", True),
    ("access: the confirming call (`POST /requests/verify`)", "access", "verify", False),
    ("access: the same call, server's time (access log)", "access", "verify_server", False),
    ("access: confirming call → mail with the export link written", "access", "export_mail", False),
    ("access: download (`GET /requests/export.json`)", "access", "download", False),
    ("access: filing → confirmation mail written", "access", "link_mail", False),
    ("**erasure: approval call → `GET /api/v1/subjects/{id}` 404**", "erasure", "gone", True),
    ("erasure: the approval call (`POST …/approve`, DPO key)", "erasure", "approve", False),
    ("erasure: the same call, server's time (access log)", "erasure", "approve_server", False),
    ("erasure: approval call → last mail written", "erasure", "erased_mail", False),
]


def report(runs: dict[str, list[Round]], info: dict[str, Any]) -> str:
    lines = [
        f"## Data-subject requests at {info['subjects']:,} subjects",
        "",
        f"`bench/dsr.py --subjects {info['subjects']}`: `schutz serve` (outbox worker on), "
        f"PostgreSQL {info['pg']}, {os.cpu_count()} cores shared with other work, Python "
        f"{platform.python_version()}; {info['live']:,} live subjects, {info['reals']} made over "
        "HTTP (an order's seven encrypted fields, a ledger entry), the others cloned in the "
        f"database from the first one's rows ({info['fill']:.0f} s{info['reused']}). The shop "
        "files each request, the worker mails the link, the bench confirms it and, for erasure, "
        f"approves it with a DPO key (one keep-alive connection, a look every {POLL * 1000:g} "
        f"ms); {len(runs['access'])} of each kind after {WARMUP} warm-up ones. Access is done "
        "inside the confirming call (no systems to wait for in the bundled policy; its answer "
        "page carries the export link), erasure inside the approving one (after which erased "
        f"subjects' wrapped keys or fields left in the database: {info['left']}). In ms.",
        "",
        "| measure | Schutz median | p95 | goal | Fides median |",
        "|---|---:|---:|---:|---:|",
    ]
    for label, kind, key, headline in ROWS:
        values = sorted(t[key] for t in runs[kind])
        median, p95 = statistics.median(values), values[max(0, round(0.95 * len(values)) - 1)]
        goal, fides = (f"≤ {GOALS[kind][0]}", str(GOALS[kind][1])) if headline else ("", "")
        lines.append(f"| {label} | {median:.1f} | {p95:.1f} | {goal} | {fides} |")
    return "\n".join(lines) + "\n"


def run(bench: Bench, subjects: int, requests: int, kept: dict[str, Any] | None) -> Round:
    """Real subjects, filler up to `subjects`, then the rounds; what the report needs."""
    count = requests + WARMUP
    emails = [f"dsr-{bench.tag}-{i}@example.org" for i in range(1 + 2 * count)]
    api, mailbox = Api("127.0.0.1", bench.port, timeout=60), Mailbox(bench.data_dir / "outbox")
    ids = intake(api, bench.keys["shop"], emails)
    if kept is None:
        filled = {"subjects": subjects, "fillers": subjects - len(ids)}
        filled["seconds"] = fill(bench.url, ids[0], filled["fillers"])
        (bench.data_dir / MARKER).write_text(json.dumps(filled))
        api.close()  # idle past the server's keep-alive timeout: the next call reconnects
    access = [access_round(api, mailbox, bench.keys, e) for e in emails[1 : 1 + count]]
    pairs = zip(emails[1 + count :], ids[1 + count :], strict=True)
    erasure = [erasure_round(api, mailbox, bench.keys, e, sid) for e, sid in pairs]
    runs = {"access": access[WARMUP:], "erasure": erasure[WARMUP:]}
    info = {"subjects": subjects, "reals": len(ids), "fill": (kept or filled)["seconds"],
            "reused": " for this database, kept with `--keep-db`" if kept else ""}  # fmt: skip
    return {**info, **vault_state(bench.url, ids[1 + count :]), "runs": runs}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("results", nargs="?", type=Path)
    parser.add_argument("--subjects", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=40, help="Of each kind, counted.")
    parser.add_argument("--keep-db", action="store_true", help="Keep the fill for next time.")
    parser.add_argument("--database-url", default=DEFAULT_URL)
    args = parser.parse_args()
    url = args.database_url
    bench = Bench(url, Path(tempfile.gettempdir()) / f"schutz-{make_url(url).database}")
    kept = kept_fill(bench, args.subjects) if args.keep_db else None
    if kept is None:
        reset(bench, create=True)
    make_keys(bench)
    bench.port = _free_port()
    env = {**os.environ, "SCHUTZ_DATA_DIR": str(bench.data_dir), "SCHUTZ_DATABASE_URL": url}
    log = bench.data_dir / f"server-{bench.tag}.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "schutz", "serve", "--port", str(bench.port)],
            env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        _wait_up(bench.port, server, "/healthz")
        info = run(bench, args.subjects, args.requests, kept)
    finally:
        _stop(server)
    add_server_ms(info["runs"], log)
    section = report(info["runs"], info)
    print(section)
    if args.results:
        write_section(args.results, section)
    if not args.keep_db:
        reset(bench, create=False)


if __name__ == "__main__":
    main()
