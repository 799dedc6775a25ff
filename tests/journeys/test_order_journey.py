"""Journey: intake for an order → order over HTTP (replayed) → signed deliveries to the
sandbox processors → the DPO reads what each received → erasure once the invoice hold has
lapsed shreds the payloads but keeps the record → the audit chain verifies."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from disclosures.demo_server import demo_server  # tests/ is on sys.path (conftest)
from schutz.config import BUNDLED_POLICY_DIR
from schutz.db import make_engine, make_session_factory, transaction
from schutz.policy.loader import load_policy_set
from schutz.vault import service as vault

pytestmark = pytest.mark.slow

CUSTOMER = {
    "source": "order",
    "purposes": ["order_processing", "billing"],
    "data": {
        "email": "katherine.johnson@example.org",
        "name": "Katherine Johnson",
        "phone": "+49 211 555 0101",
        "postal_address": {
            "street": "Königsallee 1",
            "postal_code": "40212",
            "city": "Düsseldorf",
            "country": "DE",
        },
    },
}


def test_an_order_from_intake_to_erasure(tmp_path: Path) -> None:
    with demo_server(tmp_path / "data") as server:
        shop = {"Authorization": f"Bearer {server.shop_key}"}
        dpo = {"Authorization": f"Bearer {server.dpo_key}"}
        with httpx.Client(base_url=server.base_url, timeout=20) as api:
            subject_id = api.post("/api/v1/subjects", json=CUSTOMER, headers=shop).json()[
                "subject_id"
            ]
            order = {
                "subject_id": subject_id,
                "order_ref": "GS-JOURNEY-1",
                "items": [
                    {"sku": "E720", "name": "Gigaset E720", "quantity": 2, "unit_price": "79.99"}
                ],
                "total": "164.97",
                "currency": "EUR",
                "payment": {"method": "invoice", "reference": "INV-2026-0001"},
            }
            placed = api.post("/api/v1/orders", json=order, headers=shop)
            replayed = api.post("/api/v1/orders", json=order, headers=shop)
            assert (placed.status_code, replayed.status_code) == (201, 200)

            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                seen = api.get("/api/v1/orders/GS-JOURNEY-1/disclosures", headers=dpo).json()
                if {d["status"] for d in seen["disclosures"]} == {"delivered"}:
                    break
                time.sleep(0.2)
            got = {d["recipient"]: d["payload"]["data"] for d in seen["disclosures"]}
            assert got["freight_carrier"]["name"] == "Katherine Johnson"
            assert got["freight_carrier"]["postal_address"]["street"] == "Königsallee 1"
            assert "postal_address" not in got["payment_service_provider"]
            assert got["payment_service_provider"]["payment"] == {"reference": "INV-2026-0001"}
            sandbox = api.get("/sandbox?order=GS-JOURNEY-1").text
            assert sandbox.count('data-order="GS-JOURNEY-1"') == 3  # once each, replay or not

        # Nine years on, the invoice hold has lapsed: erasure shreds what was disclosed too.
        database_url = f"sqlite:///{server.data_dir / 'schutz.db'}"
        engine = make_engine(database_url)
        policy = load_policy_set(BUNDLED_POLICY_DIR).get("2026-11")
        with transaction(make_session_factory(engine)) as session:
            vault.erase_subject(
                session, policy, subject_id, actor="dpo", now=datetime(2035, 3, 1, tzinfo=UTC)
            )
        engine.dispose()
        after = httpx.get(
            f"{server.base_url}/api/v1/orders/GS-JOURNEY-1/disclosures", headers=dpo
        ).json()["disclosures"]
        assert len(after) == 3
        assert all(d["payload"] is None for d in after)
        assert {d["status"] for d in after} == {"delivered"}

    raw = (server.data_dir / "schutz.db").read_bytes()
    for personal in (b"Katherine", b"K\xc3\xb6nigsallee", b"INV-2026-0001"):
        assert personal not in raw
    verified = subprocess.run(
        [sys.executable, "-m", "schutz", "--data-dir", str(server.data_dir), "audit", "verify"],
        capture_output=True,
        text=True,
        env={**os.environ, "SCHUTZ_DATABASE_URL": database_url},
        timeout=60,
        check=False,
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "intact" in verified.stdout
