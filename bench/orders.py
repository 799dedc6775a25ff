"""Benchmark: orders end to end through the API, and webhook deliveries through the outbox.

Usage: python bench/orders.py [RESULTS.md] [--orders N] [--deliveries-orders M] [--clients C]

1. Orders/s on SQLite: a real uvicorn on 127.0.0.1 serving Schutz (embedded worker off),
   C client threads with kept-alive httpx connections posting `POST /api/v1/orders` for
   subjects stored beforehand through the API. Each order reads the subject twice under
   purpose checks, seals the order and three payloads, places the invoice hold, queues three
   webhooks and writes the audit entries, in one transaction. Baseline: `GET /healthz`
   requests/s with the same clients against the same server.
2. Webhook deliveries/s on PostgreSQL: M orders (3M disclosures) queued, two worker
   processes (`deliver_due` with the webhook sender, FOR UPDATE SKIP LOCKED) delivering to
   a local receiver that verifies every signature. Baseline: a bare HTTP POST loop
   (http.client, kept alive, two processes) to the same receiver.
With RESULTS.md, the `## Orders and disclosures` section there is replaced (or appended).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import httpx
from sqlalchemy import func, select, text

from schutz.audit.keys import bind_audit_key, load_audit_key
from schutz.config import BUNDLED_POLICY_DIR, Settings
from schutz.db import make_engine, make_session_factory, migrate
from schutz.disclosures import service
from schutz.disclosures.endpoints import set_endpoint
from schutz.disclosures.payloads import OrderFacts, OrderItem
from schutz.disclosures.verify import SignatureError, verify_signature
from schutz.mail.models import OutboxMessage
from schutz.policy.loader import load_policy_set
from schutz.vault import service as vault
from schutz.vault.keys import load_keyring

SECTION = "## Orders and disclosures"
PG_URL = os.environ.get(
    "SCHUTZ_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
SECRET = "bench-secret-" + "x" * 24
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)

SERVER = r"""
import json, sys
import uvicorn
from schutz.clock import utcnow
from schutz.config import Settings
from schutz.db import make_engine, make_session_factory, migrate, transaction
from schutz.identity.service import create_api_key
from schutz.web.app import create_app
from schutz.web.routes import orders, subjects

settings = Settings()
engine = make_engine(settings.resolved_database_url)
migrate(engine)
from schutz.audit.keys import bind_audit_key, load_audit_key
bind_audit_key(engine, load_audit_key(settings))  # creates the server's key in its data dir
with transaction(make_session_factory(engine)) as session:
    _, key = create_api_key(session, name="bench-shop", role="shop", actor="bench", now=utcnow())
engine.dispose()
# Create the keyring before concurrent requests do (first use under load races; see report).
from schutz.vault.keys import load_keyring
load_keyring(settings)
app = create_app(settings)
for module in (subjects, orders):
    paths = {getattr(r, "path", "") for r in module.router.routes}
    if not any(getattr(r, "path", "") in paths for r in app.routes):
        app.include_router(module.router)
print(json.dumps({"key": key}), flush=True)
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""

WORKER = r"""
import sys, time
from schutz.clock import utcnow
from schutz.config import Settings
from schutz.db import make_engine, make_session_factory
from schutz.disclosures.webhook import webhook_sender
from schutz.vault.keys import load_keyring
from schutz.mail.models import OutboxKind
from schutz.mail.service import deliver_due

settings = Settings()
sessions = make_session_factory(make_engine(settings.resolved_database_url))
idle = 0
while idle < 20:
    report = deliver_due(sessions, settings, now=utcnow(), kind=OutboxKind.WEBHOOK, limit=100,
                         send=webhook_sender(sessions, settings, load_keyring(settings)))
    if report.sent or report.retrying or report.dead:
        idle = 0
    else:
        idle += 1
        time.sleep(0.05)
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def _hammer(
    clients: int, total: int, make: Callable[[httpx.Client, int], None], base: str
) -> float:
    """Run `total` calls of `make` over `clients` kept-alive clients; return calls/s."""
    pools = [httpx.Client(base_url=base, timeout=30) for _ in range(clients)]
    counter = iter(range(total))
    lock = threading.Lock()

    def work(client: httpx.Client) -> None:
        while True:
            with lock:
                number = next(counter, None)
            if number is None:
                return
            make(client, number)

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(work, pools))
    elapsed = time.perf_counter() - started
    for client in pools:
        client.close()
    return _rate(total, elapsed)


def bench_orders(orders: int, clients: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        env = {
            **os.environ,
            "SCHUTZ_DATA_DIR": str(data_dir),
            "SCHUTZ_DATABASE_URL": f"sqlite:///{data_dir / 'schutz.db'}",
            "SCHUTZ_BASE_URL": base,
        }
        process = subprocess.Popen(
            [sys.executable, "-c", SERVER, str(port)], env=env, stdout=subprocess.PIPE
        )
        try:
            assert process.stdout is not None
            key = json.loads(process.stdout.readline())["key"]
            headers = {"Authorization": f"Bearer {key}"}
            for _ in range(100):
                try:
                    if httpx.get(f"{base}/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            subjects: list[str] = [""] * orders

            def store(client: httpx.Client, number: int) -> None:
                answer = client.post(
                    "/api/v1/subjects",
                    headers=headers,
                    json={
                        "source": "order",
                        "purposes": ["order_processing", "billing"],
                        "data": {
                            "email": f"bench{number}@example.org",
                            "name": f"Customer {number}",
                            "postal_address": {
                                "street": f"Hansaallee {number}",
                                "postal_code": "40549",
                                "city": "Düsseldorf",
                                "country": "DE",
                            },
                        },
                    },
                )
                subjects[number] = answer.json()["subject_id"]

            intake_rate = _hammer(clients, orders, store, base)

            def order(client: httpx.Client, number: int) -> None:
                answer = client.post(
                    "/api/v1/orders",
                    headers=headers,
                    json={
                        "subject_id": subjects[number],
                        "order_ref": f"B-{number}",
                        "items": [
                            {"sku": "CL390", "name": "Gigaset CL390", "quantity": 1,
                             "unit_price": "39.99"}
                        ],
                        "total": "44.98",
                        "currency": "EUR",
                        "payment": {"method": "card", "reference": f"PAY-{number}"},
                    },
                )  # fmt: skip
                assert answer.status_code == 201, answer.text

            order_rate = _hammer(clients, orders, order, base)

            def health(client: httpx.Client, _: int) -> None:
                client.get("/healthz")

            health_rate = _hammer(clients, orders * 2, health, base)
        finally:
            process.terminate()
            process.wait(timeout=10)
    return {"orders": order_rate, "healthz": health_rate, "intake": intake_rate}


class _Receiver(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen: ClassVar[set[str]] = set()
    lock = threading.Lock()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        status = 200
        if self.headers.get("Schutz-Signature"):
            try:
                verify_signature(SECRET, body, self.headers.get("Schutz-Signature"))
            except SignatureError:
                status = 401
            with _Receiver.lock:
                _Receiver.seen.add(self.headers.get("Idempotency-Key", ""))
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return


def _bare_posts(url: str, count: int) -> None:
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port)
    body = b'{"id":"x","data":{"order_ref":"B-1"}}' * 4
    for _ in range(count):
        conn.request("POST", parts.path, body=body, headers={"Content-Type": "application/json"})
        conn.getresponse().read()
    conn.close()


def bench_deliveries(order_count: int) -> dict[str, Any]:
    admin = make_engine(PG_URL)
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{PG_URL}{'&' if '?' in PG_URL else '?'}options=-csearch_path%3D{schema}"
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    hook = f"http://127.0.0.1:{server.server_address[1]}/hook"
    try:
        with tempfile.TemporaryDirectory() as tmp:
            settings = Settings(data_dir=Path(tmp), database_url=url)
            engine = make_engine(url)
            migrate(engine)
            bind_audit_key(engine, load_audit_key(settings))
            sessions = make_session_factory(engine)
            rules = load_policy_set(BUNDLED_POLICY_DIR).engine("2026-11")
            keyring = load_keyring(settings)
            secret_file = Path(tmp) / "secret"
            secret_file.write_text(SECRET)
            secret_file.chmod(0o600)
            with sessions() as session:
                for name in rules.policy.recipients:
                    set_endpoint(session, rules.policy, name, url=hook, secret_file=secret_file,
                                 actor="bench", now=NOW)  # fmt: skip
                for number in range(order_count):
                    subject_id = vault.intake(
                        session, rules, keyring, source="order",
                        purposes=["order_processing", "billing"],
                        data={"email": f"d{number}@example.org", "name": f"Customer {number}",
                              "postal_address.street": "Hansaallee 299",
                              "postal_address.postal_code": "40549",
                              "postal_address.city": "Düsseldorf",
                              "postal_address.country": "DE"},
                        asserted_by="shop", actor="bench", now=NOW,
                    ).subject_id  # fmt: skip
                    service.place_order(
                        session, rules, keyring,
                        OrderFacts(subject_id, f"D-{number}",
                                   (OrderItem("A690", "Gigaset A690", 1, Decimal("29.99")),),
                                   Decimal("34.98"), "EUR", "card", f"PAY-{number}"),
                        role="shop", actor="bench", now=NOW,
                    )  # fmt: skip
                    if number % 200 == 199:
                        session.commit()
                session.commit()
                queued = session.scalar(select(func.count()).select_from(OutboxMessage)) or 0

            env = {**os.environ, "SCHUTZ_DATA_DIR": tmp, "SCHUTZ_DATABASE_URL": url}
            started = time.perf_counter()
            workers = [subprocess.Popen([sys.executable, "-c", WORKER], env=env) for _ in range(2)]
            while True:
                with sessions() as session:
                    left = session.scalar(
                        select(func.count())
                        .select_from(OutboxMessage)
                        .where(OutboxMessage.status != "sent")
                    )
                if not left:
                    break
                time.sleep(0.1)
            elapsed = time.perf_counter() - started
            for worker in workers:
                worker.terminate()
                worker.wait(timeout=30)
            delivered = len(_Receiver.seen)
            engine.dispose()

            per_process = queued // 2
            started = time.perf_counter()
            bare = [
                multiprocessing.Process(target=_bare_posts, args=(hook, per_process))
                for _ in range(2)
            ]
            for proc in bare:
                proc.start()
            for proc in bare:
                proc.join()
            bare_rate = _rate(per_process * 2, time.perf_counter() - started)
    finally:
        server.shutdown()
        server.server_close()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    return {
        "queued": queued,
        "delivered": delivered,
        "deliveries": _rate(queued, elapsed),
        "bare": bare_rate,
    }


def report(orders: dict[str, Any], deliveries: dict[str, Any], args: argparse.Namespace) -> str:
    o, d = orders, deliveries
    return "\n".join(
        [
            SECTION,
            "",
            f"{os.cpu_count()} cores, Python {platform.python_version()}; "
            f"{args.orders} orders over {args.clients} kept-alive clients; "
            f"{d['queued']} webhooks to a local receiver.",
            "",
            "| measure | rate | baseline | rate | ratio |",
            "|---|---:|---|---:|---:|",
            f"| orders/s end to end, SQLite (`POST /api/v1/orders`, real uvicorn) | "
            f"{o['orders']:,.0f} | `GET /healthz` requests/s, same server and clients | "
            f"{o['healthz']:,.0f} | {o['orders'] / o['healthz']:.2f} |",
            f"| intake/s, SQLite (`POST /api/v1/subjects`, for reference) | "
            f"{o['intake']:,.0f} | `GET /healthz` | {o['healthz']:,.0f} | "
            f"{o['intake'] / o['healthz']:.2f} |",
            f"| webhook deliveries/s, PostgreSQL, 2 worker processes (signed, verified, "
            f"recorded) | {d['deliveries']:,.0f} | bare HTTP POST loop to the receiver, "
            f"2 processes | {d['bare']:,.0f} | {d['deliveries'] / d['bare']:.2f} |",
            "",
            f"Every queued webhook reached the receiver: {d['delivered']} distinct "
            f"Idempotency-Keys for {d['queued']} disclosures. Aims (issue 6): ≥ 200 orders/s "
            "on SQLite, ≥ 500 deliveries/s with two workers on PostgreSQL.",
        ]
    )


def write_section(path: Path, section: str) -> None:
    """Replace the `## Orders and disclosures` section of `path`, or append it."""
    existing = path.read_text(encoding="utf-8") if path.exists() else ""
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.MULTILINE | re.DOTALL)
    if pattern.search(existing):
        existing = pattern.sub(lambda _: section + "\n", existing, count=1)
    else:
        existing = (existing.rstrip("\n") + "\n\n" if existing.strip() else "") + section + "\n"
    path.write_text(existing, encoding="utf-8")


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("results", nargs="?", type=Path)
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--deliveries-orders", type=int, default=1000)
    args = parser.parse_args(argv[1:])
    orders = bench_orders(args.orders, args.clients)
    print(f"orders: {orders}")
    deliveries = bench_deliveries(args.deliveries_orders)
    print(f"deliveries: {deliveries}")
    section = report(orders, deliveries, args)
    if args.results:
        write_section(args.results, section)
    print(section)


if __name__ == "__main__":
    main(sys.argv)
