"""A journey against a real `schutz serve` at log level debug: the log holds none of the
personal data it stored, nor the full client address a proxy forwarded; it is JSON lines
with request ids and route templates; /metrics counts the journey.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from live import free_port, wait_for
from schutz.clock import utcnow
from schutz.config import Settings
from schutz.db import make_engine, make_session_factory
from schutz.identity.service import create_api_key

pytestmark = pytest.mark.slow

FORWARDED_IP = "198.51.100.173"
PERSON: dict[str, Any] = {
    "email": "zebulon.quist7@example.net",
    "name": "Zebulon Quistorp-Farnsworth",
    "phone": "+49 30 5550199",
    "postal_address": {
        "street": "Quastenweg 17",
        "postal_code": "98765",
        "city": "Xylophonstadt",
        "country": "DE",
    },
}
MESSAGE = "Bitte rufen Sie mich an, Quistorp hier"


@pytest.fixture
def server(
    settings: Settings, db_url: str
) -> Iterator[tuple[str, Path, dict[str, str], subprocess.Popen[bytes]]]:
    """`schutz serve` on a free port, log level debug, standard output and error in a file."""
    engine = make_engine(db_url)
    keys = {}
    with make_session_factory(engine)() as session:
        for role in ("shop", "marketing"):
            _, keys[role] = create_api_key(
                session, name=f"log-{role}", role=role, actor="cli", now=utcnow()
            )
        session.commit()
    engine.dispose()
    port = free_port()
    log = settings.data_dir.parent / "serve.log"
    env = {
        **os.environ,
        "SCHUTZ_DATA_DIR": str(settings.data_dir),
        "SCHUTZ_DATABASE_URL": db_url,
        "SCHUTZ_LOG_LEVEL": "debug",
    }
    argv = [sys.executable, "-m", "schutz", "serve", "--port", str(port)]
    with log.open("wb") as out:
        process = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            if process.poll() is not None:
                pytest.fail(f"serve exited:\n{log.read_text()}")
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield base, log, keys, process
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _form_token(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


def _worker_idle(db_url: str) -> bool:
    """No look-up waits for the worker and no mail waits to be sent (webhooks to the
    processors, which have no endpoint here, wait for ever)."""
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            lookups = conn.execute(text("SELECT count(*) FROM pending_lookup")).scalar_one()
            unsent = conn.execute(
                text(
                    "SELECT count(*) FROM outbox"
                    " WHERE kind = 'email' AND status IN ('pending', 'sending')"
                )
            ).scalar_one()
    finally:
        engine.dispose()
    return int(lookups) + int(unsent) == 0


def test_a_journey_leaves_no_personal_data_in_the_log(
    server: tuple[str, Path, dict[str, str], subprocess.Popen[bytes]], db_url: str
) -> None:
    base, log, keys, process = server
    fwd = {"X-Forwarded-For": FORWARDED_IP}
    shop = {"Authorization": f"Bearer {keys['shop']}", **fwd}
    with httpx.Client(base_url=base, timeout=10) as client:
        intake = {"source": "order", "purposes": ["order_processing", "billing"], "data": PERSON}
        made = client.post("/api/v1/subjects", json=intake, headers=shop)
        assert made.status_code == 201, made.text
        subject = made.json()["subject_id"]
        order = {
            "subject_id": subject,
            "order_ref": "GS-LOG-4711",
            "items": [{"sku": "CL390", "name": "Gigaset CL390", "quantity": 1, "unit_price": 9}],
            "total": "9.00",
            "currency": "EUR",
            "payment": {"method": "card", "reference": "PAY-LOG-4711"},
        }
        assert client.post("/api/v1/orders", json=order, headers=shop).status_code == 201
        consent = {"email": PERSON["email"], "purpose": "direct_marketing", "action": "object",
                   "channel": "api", "evidence": f"call from {PERSON['name']}"}  # fmt: skip
        assert client.post("/api/v1/consents", json=consent, headers=shop).status_code == 201
        request = {"kind": "access", "email": PERSON["email"], "details": MESSAGE}
        assert client.post("/api/v1/requests", json=request, headers=shop).status_code == 202
        found = client.post(
            "/api/v1/subjects/lookup", json={"email": PERSON["email"]}, headers=shop
        )
        assert found.json() == {"subject_id": subject}
        read = client.get(f"/api/v1/subjects/{subject}?purpose=order_processing", headers=shop)
        assert read.status_code == 200
        # A refusal that names a wrong field, and the public forms.
        bad = {**intake, "data": {**PERSON, "nickname": PERSON["name"]}}
        assert client.post("/api/v1/subjects", json=bad, headers=shop).status_code == 422
        page = client.get("/contact", headers=fwd)
        sent = client.post(
            "/contact",
            data={"form_token": _form_token(page.text, "form_token"), "kind": "question",
                  "name": PERSON["name"], "email": PERSON["email"], "message": MESSAGE},
            headers=fwd,
        )  # fmt: skip
        assert sent.status_code < 500
        page = client.get("/newsletter", headers=fwd)
        signed = client.post(
            "/newsletter",
            data={"email": PERSON["email"], "form_token": _form_token(page.text, "form_token")},
            headers=fwd,
        )
        assert signed.status_code < 500
        metrics = client.get("/metrics")
        refused = client.get("/metrics", headers=fwd)  # through the proxy: not for the public
    # The embedded worker handles the look-ups and writes the mails (and may log meanwhile).
    wait_for(lambda: _worker_idle(db_url), "the embedded worker to finish its work")
    # The log is written in batches: a clean stop writes what the server still holds.
    process.send_signal(signal.SIGINT)
    process.wait(timeout=15)

    assert metrics.status_code == 200
    assert refused.status_code == 403
    text = metrics.text
    assert 'route="/api/v1/subjects/{subject_id}"' in text
    assert re.search(r'schutz_http_requests_total\{method="POST",route="/api/v1/orders",'
                     r'status="201"\} 1\.0', text)  # fmt: skip
    assert "schutz_http_request_duration_seconds_bucket" in text
    assert re.search(r'schutz_outbox_messages\{kind="email",status="\w+"\} [1-9]', text)
    assert "schutz_requests_overdue 0.0" in text
    assert 'schutz_dead_letters{kind="webhook"} 0.0' in text

    output = log.read_text(encoding="utf-8")
    values = [PERSON["email"], PERSON["name"], PERSON["phone"], MESSAGE, FORWARDED_IP,
              *PERSON["postal_address"].values()]  # fmt: skip
    for value in [v for v in values if v != "DE"]:
        for form in (value, value.lower(), json.dumps(value)[1:-1]):
            assert form not in output, f"{value!r} is in the log"
    assert "zebulon" not in output.lower()
    assert "quistorp" not in output.lower()

    access = [json.loads(line) for line in output.splitlines() if '"schutz.access"' in line]
    assert len(access) >= 10
    for line in access:
        assert {"time", "level", "logger", "message", "request_id", "route", "status",
                "duration_ms", "method"} <= set(line)  # fmt: skip
        assert "?" not in line["route"]
    assert {"/api/v1/subjects/{subject_id}", "/contact", "/metrics"} <= {
        line["route"] for line in access
    }
