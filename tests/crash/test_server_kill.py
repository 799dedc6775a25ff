"""A server killed with SIGKILL while it acknowledges consent events loses none it acknowledged.

A real uvicorn serves Schutz; client threads record consents for existing subjects as fast
as the server answers, each with its own evidence string; the server is SIGKILLed under that
load and started again. Every event that got a 2xx is in the ledger, and the audit chain
verifies. SQLite (WAL) and PostgreSQL.
"""

from __future__ import annotations

import threading
import time
import uuid

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from schutz.audit.service import verify
from schutz.config import BUNDLED_POLICY_DIR, Settings
from schutz.consent.models import ConsentEvent
from schutz.identity.service import create_api_key
from schutz.policy.loader import load_policy_set
from schutz.vault import service as vault
from schutz.vault.keys import load_keyring

from .conftest import Server

pytestmark = pytest.mark.slow

RULES = load_policy_set(BUNDLED_POLICY_DIR).engine("2026-11")
CLIENTS = 4
SUBJECTS = 12
ACKED_BEFORE_KILL = 150
LOAD_SECONDS = 8.0


def _prepare(session: Session, settings: Settings) -> tuple[str, list[str]]:
    from schutz.clock import utcnow

    now = utcnow()
    keyring = load_keyring(settings)
    _, api_key = create_api_key(session, name="shop-crash", role="shop", actor="test", now=now)
    subjects = [
        vault.intake(
            session,
            RULES,
            keyring,
            source="registration",
            purposes=["information_access"],
            data={"email": f"crash{i}@example.org"},
            asserted_by="shop",
            actor="test",
            now=now,
        ).subject_id
        for i in range(SUBJECTS)
    ]
    session.commit()
    return api_key, subjects


class Load:
    """Client threads posting consents until the server stops answering."""

    def __init__(self, url: str, api_key: str, subjects: list[str]) -> None:
        self.url, self.api_key, self.subjects = url, api_key, subjects
        self.acked: list[str] = []
        self.failures: list[str] = []
        self.cut_off = 0  # clients whose connection the kill broke
        self.lock = threading.Lock()
        self.stop = threading.Event()

    def client(self, number: int) -> None:
        headers = {"Authorization": f"Bearer {self.api_key}"}
        with httpx.Client(base_url=self.url, headers=headers, timeout=10) as http:
            n = 0
            while not self.stop.is_set():
                evidence = f"crash-{number}-{n}-{uuid.uuid4().hex}"
                body = {
                    "subject_id": self.subjects[n % len(self.subjects)],
                    "purpose": "market_research",
                    "action": "grant" if n % 2 == 0 else "withdraw",
                    "channel": "api",
                    "evidence": evidence,
                }
                n += 1
                try:
                    response = http.post("/api/v1/consents", json=body)
                except httpx.TransportError:
                    with self.lock:
                        self.cut_off += 1
                    return  # the server is gone
                with self.lock:
                    if 200 <= response.status_code < 300:
                        self.acked.append(evidence)
                    else:
                        self.failures.append(f"{response.status_code} {response.text[:200]}")

    def run(self) -> list[threading.Thread]:
        threads = [threading.Thread(target=self.client, args=(i,)) for i in range(CLIENTS)]
        for thread in threads:
            thread.start()
        return threads


def test_every_acknowledged_consent_survives_a_sigkill(
    session: Session, settings: Settings, server: Server
) -> None:
    api_key, subjects = _prepare(session, settings)
    server.start()
    load = Load(server.url, api_key, subjects)
    threads = load.run()
    deadline = time.monotonic() + LOAD_SECONDS
    while len(load.acked) < ACKED_BEFORE_KILL and time.monotonic() < deadline:
        time.sleep(0.01)
    server.kill()  # mid-load: the clients are still sending
    load.stop.set()
    for thread in threads:
        thread.join(timeout=20)
    acked = set(load.acked)
    assert not load.failures, load.failures[:3]
    assert len(acked) >= 20, "too little load reached the server before the kill"
    assert load.cut_off >= 1, "the server was not killed under load"

    server.start()
    try:
        response = httpx.get(
            f"{server.url}/api/v1/subjects/{subjects[0]}/consents",
            headers={"Authorization": f"Bearer {api_key}"},
        )
        assert response.status_code == 200
    finally:
        server.stop()

    session.expire_all()
    stored = set(session.scalars(select(ConsentEvent.evidence)))
    missing = acked - stored
    assert not missing, f"{len(missing)} of {len(acked)} acknowledged events were lost"
    result = verify(session)
    assert result.ok, result
    session.commit()
