"""Two app servers and two workers on one PostgreSQL schema keep one truth.

Real processes: two `schutz serve --no-worker` (the second with `--workers 2`, so three web
processes in all) and two `schutz worker`, a webhook receiver
on 127.0.0.1 for every recipient. Client threads send each step of a customer's journey
(intake, order, consent) to either server, and one server is killed with SIGKILL while they
do. Afterwards: the audit chain verifies, every order's disclosures reached the receiver
exactly once, the rate limit held across both servers, and every write a server answered
with 201 is in the database.
"""

from __future__ import annotations

import functools
import http.client
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import live
from disclosures.builders import Receiver, secret_file
from schutz.clock import utcnow
from schutz.config import Settings
from schutz.consent.models import ConsentEvent
from schutz.db import make_engine, make_session_factory
from schutz.disclosures.endpoints import set_endpoint
from schutz.disclosures.models import Disclosure, Order
from schutz.identity.service import create_api_key
from schutz.policy.engine import Engine as Rules

pytestmark = pytest.mark.slow

CLIENTS = 4
JOURNEYS = 10  # per client
KILL_AFTER = 12  # acknowledged orders, then server A dies
CONTACT_LIMIT = 10
STARTUP = 90.0  # seconds; two servers start at once on a shared 2-core machine


@dataclass
class Ledger:
    """What the servers acknowledged (2xx), as the clients saw it."""

    orders: set[str] = field(default_factory=set)
    consents: set[tuple[str, str]] = field(default_factory=set)
    failures: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    enough: threading.Event = field(default_factory=threading.Event)


def _call(port: int, method: str, path: str, body: Any, headers: dict[str, str]) -> tuple[int, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
        response = conn.getresponse()
        raw = response.read()
        return response.status, json.loads(raw) if raw.startswith(b"{") else None
    finally:
        conn.close()


def _start(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "schutz", *argv], env=env, stdout=out, stderr=subprocess.STDOUT
        )


def _healthy(port: int, process: subprocess.Popen[bytes], log: Path) -> bool:
    if process.poll() is not None:
        pytest.fail(f"a server exited with {process.returncode}:\n{log.read_text()}")
    try:
        return _call(port, "GET", "/healthz", None, {})[0] == 200
    except OSError:
        return False


@contextmanager
def _processes(
    env: dict[str, str], ports: list[int], log: Path
) -> Iterator[list[subprocess.Popen[bytes]]]:
    live.require_mark("slow", "starts real servers and workers")
    # The second server is itself two processes under uvicorn's supervisor (`--workers 2`).
    servers = [
        _start(["serve", "--no-worker", "--port", str(port), *extra], env, log)
        for port, extra in zip(ports, ([], ["--workers", "2"]), strict=True)
    ]
    workers: list[subprocess.Popen[bytes]] = []
    try:
        for port, server in zip(ports, servers, strict=True):
            live.wait_for(functools.partial(_healthy, port, server, log), "a server", STARTUP)
        workers += [_start(["worker"], env, log) for _ in range(2)]
        yield servers
    finally:
        for process in (*servers, *workers):
            if process.poll() is None:
                process.terminate()
        for process in (*servers, *workers):
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _journey(
    n: int, ports: list[int], alive: list[bool], api: dict[str, str], ledger: Ledger
) -> None:
    """Intake, order and consent of one customer, each step on the next live server."""
    steps = iter(range(n, n + 3))

    def send(method: str, path: str, body: Any) -> tuple[int, Any]:
        index = next(steps) % 2
        if not alive[index]:
            index = 1 - index
        try:
            return _call(ports[index], method, path, body, api)
        except (OSError, http.client.HTTPException):
            with ledger.lock:
                ledger.failures += 1
            return 599, None

    status, answer = send("POST", "/api/v1/subjects", {
        "source": "order", "purposes": ["order_processing", "billing"],
        "data": {"email": f"scale{n}@example.org", "name": f"Scale Customer {n}",
                 "postal_address": {"street": f"Teststrasse {n}", "postal_code": "10115",
                                    "city": "Berlin", "country": "DE"}},
    })  # fmt: skip
    if status not in (200, 201):
        return
    subject = answer["subject_id"]
    ref = f"S-{n}"
    status, _ = send("POST", "/api/v1/orders", {
        "subject_id": subject, "order_ref": ref,
        "items": [{"sku": "CL390", "name": "Gigaset CL390", "quantity": 1, "unit_price": 39.99}],
        "total": "39.99", "currency": "EUR", "payment": {"method": "card", "reference": f"P-{n}"},
    })  # fmt: skip
    if status == 201:
        with ledger.lock:
            ledger.orders.add(ref)
            if len(ledger.orders) >= KILL_AFTER:
                ledger.enough.set()
    status, _ = send("POST", "/api/v1/consents", {
        "subject_id": subject, "purpose": "market_research", "action": "grant",
        "channel": "api", "evidence": "scale test",
    })  # fmt: skip
    if status == 201:
        with ledger.lock:
            ledger.consents.add((subject, "market_research"))


def _client(
    first: int, ports: list[int], alive: list[bool], api: dict[str, str], ledger: Ledger
) -> None:
    for j in range(JOURNEYS):
        _journey(first + j * CLIENTS, ports, alive, api, ledger)


def _contact_codes(ports: list[int]) -> list[int]:
    """POST /contact from one client network, alternating servers, past the limit."""
    headers = {
        "X-Forwarded-For": "198.51.100.7",
        "Content-Type": "application/x-www-form-urlencoded",
    }
    codes = []
    for i in range(CONTACT_LIMIT + 4):
        conn = http.client.HTTPConnection("127.0.0.1", ports[i % 2], timeout=30)
        conn.request("POST", "/contact", body="message=hello", headers=headers)
        codes.append(conn.getresponse().status)
        conn.close()
    return codes


def _setup(settings: Settings, rules: Rules, receiver: Receiver, tmp_path: Path) -> str:
    """Point every recipient at the receiver; the shop's API key."""
    engine = make_engine(settings.resolved_database_url)
    with make_session_factory(engine)() as session:
        for name in rules.policy.recipients:
            set_endpoint(
                session, rules.policy, name, url=receiver.url,
                secret_file=secret_file(tmp_path / "secrets", name, receiver.secret),
                actor="cli", now=utcnow(),
            )  # fmt: skip
        _, key = create_api_key(session, name="shop", role="shop", actor="cli", now=utcnow())
        session.commit()
    engine.dispose()
    return key


def _settled(session: Session, expected: int) -> bool:
    session.expire_all()
    delivered = session.scalar(
        select(func.count()).select_from(Disclosure).where(Disclosure.status == "delivered")
    )
    session.rollback()
    return delivered == expected


def test_two_servers_and_two_workers_keep_one_truth(
    pg_settings: Settings, rules: Rules, receiver: Receiver, tmp_path: Path
) -> None:
    key = _setup(pg_settings, rules, receiver, tmp_path)
    ports = [live.free_port(), live.free_port()]
    env = {
        **os.environ,
        "SCHUTZ_DATA_DIR": str(pg_settings.data_dir),  # one data dir: the same key files
        "SCHUTZ_DATABASE_URL": pg_settings.resolved_database_url,
        "SCHUTZ_RATE_LIMIT_CONTACT": f"{CONTACT_LIMIT}/600",
        "SCHUTZ_LOG_LEVEL": "warning",
    }
    api = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    ledger, alive = Ledger(), [True, True]
    with _processes(env, ports, tmp_path / "servers.log") as servers:
        contact = _contact_codes(ports)
        with ThreadPoolExecutor(CLIENTS) as pool:
            runs = [pool.submit(_client, c, ports, alive, api, ledger) for c in range(CLIENTS)]
            ledger.enough.wait(timeout=60)
            os.kill(servers[0].pid, signal.SIGKILL)  # mid-traffic: requests are in flight
            alive[0] = False
            for run in runs:
                run.result()
        engine = make_engine(pg_settings.resolved_database_url)
        with make_session_factory(engine)() as session:
            orders = set(session.scalars(select(Order.order_ref)))
            disclosures = set(session.scalars(select(Disclosure.id)))
            consents = {
                (str(subject), purpose)
                for subject, purpose in session.execute(
                    select(ConsentEvent.subject_id, ConsentEvent.purpose)
                )
            }
            live.wait_for(lambda: _settled(session, len(disclosures)), "every delivery", 60)
        engine.dispose()
        verify = subprocess.run(
            [sys.executable, "-m", "schutz", "audit", "verify"],
            env=env, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip

    assert servers[0].returncode == -signal.SIGKILL
    assert ledger.orders, "no order was acknowledged"
    assert ledger.orders <= orders  # every acknowledged order is stored
    assert ledger.consents <= consents  # and every acknowledged consent
    assert len(disclosures) >= 3 * len(ledger.orders)
    assert set(receiver.delivered) == disclosures
    assert set(receiver.by_key.values()) == {1}  # each exactly once, no second shipment
    assert contact.count(429) == len(contact) - CONTACT_LIMIT  # one limit for both servers
    assert 429 not in contact[:CONTACT_LIMIT]
    assert verify.returncode == 0, verify.stdout + verify.stderr
