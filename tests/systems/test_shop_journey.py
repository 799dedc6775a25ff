"""Issue 15, end to end over real HTTP: a customer of the example shop has their data erased.

Schutz runs in uvicorn; the example shop (examples/shop-integration) and a carrier that
records what it receives run in-process on their own ports. The customer asks at
/requests/new, confirms by the mailed link, the DPO approves in the staff console; the shop
gets `erasure.approved`, deletes its rows and confirms; the carrier gets an Art. 19 notice.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from live import free_port, uvicorn_serving, wait_for
from schutz.clock import utcnow
from schutz.config import Settings
from schutz.db import make_session_factory, transaction
from schutz.disclosures.endpoints import set_endpoint
from schutz.identity.service import add_staff
from schutz.policy.loader import load_policy_set
from schutz.vault.keys import load_keyring
from systems.builders import point_system, policy_with_systems, secret_file
from webapp import GRACE_ORDER, api_keys, csrf_in, deliver, delivered_to, token_in

SHOP_FILE = Path(__file__).parents[2] / "examples" / "shop-integration" / "shop.py"
_spec = importlib.util.spec_from_file_location("example_shop", SHOP_FILE)
assert _spec is not None
assert _spec.loader is not None
example_shop = importlib.util.module_from_spec(_spec)
sys.modules["example_shop"] = example_shop  # dataclasses look their module up while it loads
_spec.loader.exec_module(example_shop)

pytestmark = pytest.mark.slow


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """`app` under uvicorn in a thread of this process; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: server.started, "the in-process server to start")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def carrier(received: list[dict[str, Any]]) -> Starlette:
    async def record(request: Request) -> JSONResponse:
        received.append(json.loads(await request.body()))
        return JSONResponse({"ok": True})

    return Starlette(routes=[Route("/hook", record, methods=["POST"])])


def test_a_shop_customer_is_erased_in_schutz_and_in_the_shop(
    tmp_path: Path, db_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    policy_dir = policy_with_systems(tmp_path / "policy")
    data_dir = tmp_path / "data"
    settings = Settings(data_dir=data_dir, database_url=db_url, policy=policy_dir)
    monkeypatch.setenv("SCHUTZ_POLICY", str(policy_dir))
    data_dir.mkdir(mode=0o700)
    load_keyring(settings)  # the server and this test's worker share the data dir's keys
    sessions = make_session_factory(engine)
    shop_key = api_keys(engine)("shop")["Authorization"].removeprefix("Bearer ")
    with transaction(sessions) as session:
        add_staff(session, email="dpo@shop.example", role="dpo", password="a long enough secret",
                  actor="cli", now=utcnow())  # fmt: skip
    received: list[dict[str, Any]] = []
    with uvicorn_serving(data_dir, db_url) as base, serving(carrier(received)) as carrier_url:
        monkeypatch.setenv("SCHUTZ_URL", base)
        monkeypatch.setenv("SCHUTZ_API_KEY", shop_key)
        monkeypatch.setenv("SHOP_DB", str(tmp_path / "shop.db"))
        monkeypatch.setenv("SHOP_SECRET_FILE", str(secret_file(data_dir)))
        with serving(example_shop.create_shop()) as shop_url:
            point_system(sessions, settings, f"{shop_url}/schutz/events")
            policy = load_policy_set(policy_dir).in_force(utcnow().date())
            with transaction(sessions) as session:
                set_endpoint(session, policy, "freight_carrier", url=f"{carrier_url}/hook",
                             secret_file=secret_file(tmp_path, b"carrier-secret-0123456789"),
                             actor="cli", now=utcnow())  # fmt: skip
            _journey(base, shop_url, settings, sessions, api_keys(engine)("dpo"))
    assert received
    assert received[-1]["type"] == "notice.erasure"
    assert received[-1]["order_refs"] == ["GS-9001"]
    assert "Grace" not in json.dumps(received[-1])
    with sqlite3.connect(tmp_path / "shop.db") as conn:
        assert conn.execute("SELECT count(*) FROM customer").fetchone() == (0,)
        assert conn.execute("SELECT customer_id FROM shop_order").fetchall() == [(None,)]
    audit = subprocess.run(
        [sys.executable, "-m", "schutz", "--data-dir", str(data_dir), "audit", "verify"],
        capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "SCHUTZ_DATABASE_URL": db_url},
    )  # fmt: skip
    assert audit.returncode == 0, audit.stdout + audit.stderr


def _journey(
    base: str, shop_url: str, settings: Settings, sessions: Any, dpo: dict[str, str]
) -> None:
    email = GRACE_ORDER["data"]["email"]
    with httpx.Client(base_url=shop_url, timeout=30) as shop:
        made = shop.post("/customers", json={**GRACE_ORDER["data"]})
        assert made.status_code == 201, made.text
        order = {
            "customer_id": made.json()["customer_id"], "order_ref": "GS-9001", "total": "44.98",
            "items": [{"sku": "CL390", "name": "Gigaset CL390", "quantity": 1,
                       "unit_price": 39.99}],
            "payment": {"method": "card", "reference": "PAY-1"},
        }  # fmt: skip
        assert shop.post("/orders", json=order).status_code == 201
    deliver(sessions, settings)  # the order's disclosures reach the carrier
    with httpx.Client(base_url=base, timeout=30, follow_redirects=True) as web:
        form = web.get("/requests/new")
        token = form.text.split('name="form_token" value="')[1].split('"')[0]
        asked = web.post("/requests/new", data={"kind": "erasure", "email": email,
                                                "form_token": token})  # fmt: skip
        assert asked.status_code == 200
        deliver(sessions, settings)
        _, body = delivered_to(settings, email)[-1]
        link = token_in(body, "/requests/verify")
        assert web.post("/requests/verify", params={"token": link}).status_code == 200
        login = web.get("/staff/login")
        web.post("/staff/login", data={"email": "dpo@shop.example",
                                       "password": "a long enough secret",
                                       "csrf_token": csrf_in(login.text)})  # fmt: skip
        queue = web.get("/staff/requests?status=in_progress")
        request_id = re.findall(r'href="/staff/requests/([0-9a-f]{32})\?', queue.text)[0]
        csrf = csrf_in(web.get(f"/staff/requests/{request_id}").text)
        approved = web.post(f"/staff/requests/{request_id}/approve", data={"csrf_token": csrf})
        assert approved.status_code == 200, approved.text
        assert "error=" not in str(approved.url), (request_id, str(approved.url))
        waiting = web.get("/staff/requests?status=awaiting_systems")
        assert "<code>shop_database</code>" in waiting.text

        def completed() -> bool:
            deliver(sessions, settings)
            read = web.get(f"/api/v1/requests/{request_id}", headers=dpo)
            return bool(read.json()["status"] == "completed")

        wait_for(completed, "the shop to confirm the erasure")
