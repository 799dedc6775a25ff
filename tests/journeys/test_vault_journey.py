"""A customer's data from intake to erasure, over HTTP, ending with nothing of them left.

Intake via the API → read for order processing returns name and address → a support key
reading for direct marketing gets 403 with a reason → erasure → the e-mail look-up is 404,
the audit chain verifies, and no plaintext of the customer remains in the database.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from sqlalchemy import Engine, make_url, text
from sqlalchemy.orm import Session

from schutz.audit.service import verify
from schutz.clock import utcnow
from schutz.config import Settings
from schutz.identity.service import create_api_key
from schutz.policy.loader import load_policy_set
from schutz.vault import service
from schutz.vault.models import Tombstone
from sqlite_files import sqlite_bytes
from webapp import TestClient

CUSTOMER = {
    "email": "wilhelmina.quirrenbach@example.org",
    "name": "Wilhelmina Quirrenbach",
    "phone": "+49 221 9876543",
    "postal_address": {
        "street": "Quirinusgasse 42",
        "postal_code": "50667",
        "city": "Köln",
        "country": "DE",
    },
}
NEEDLES = ["wilhelmina", "Wilhelmina", "Quirrenbach", "Quirinusgasse", "+492219876543"]


def _bearer(session: Session, role: str) -> dict[str, str]:
    _, key = create_api_key(session, name=f"journey-{role}", role=role, actor="cli", now=utcnow())
    session.commit()
    return {"Authorization": f"Bearer {key}"}


def _raw_database(engine: Engine) -> bytes:
    url = engine.url
    if url.get_backend_name() == "sqlite":
        with engine.connect() as conn:
            conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        return sqlite_bytes(Path(str(url.database)))
    schema = str(make_url(str(url)).query["options"]).split("search_path=", 1)[-1]
    pg_dump = shutil.which("pg_dump") or "pg_dump"
    argv = [pg_dump, "-h", str(url.host), "-U", str(url.username), "--schema", schema]
    return subprocess.run([*argv, str(url.database)], capture_output=True, check=True).stdout


def test_customer_journey_from_intake_to_erasure(
    client: TestClient, session: Session, engine: Engine, settings: Settings
) -> None:
    shop, support = _bearer(session, "shop"), _bearer(session, "support")

    created = client.post(
        "/api/v1/subjects",
        json={"source": "order", "purposes": ["order_processing", "billing"], "data": CUSTOMER},
        headers=shop,
    )
    assert created.status_code == 201, created.text
    subject_id = created.json()["subject_id"]
    url = f"/api/v1/subjects/{subject_id}"

    read = client.get(url, params={"purpose": "order_processing"}, headers=support)
    assert read.status_code == 200, read.text
    data = read.json()["data"]
    assert data["name"] == "Wilhelmina Quirrenbach"
    assert data["postal_address"] == CUSTOMER["postal_address"]

    denied = client.get(url, params={"purpose": "direct_marketing"}, headers=support)
    assert denied.status_code == 403
    assert denied.json()["reason"] == "role 'support' may not process data for 'direct_marketing'"

    # The erasure request itself is handled by the requests domain; it ends in this call.
    policy = load_policy_set(settings.policy).in_force(utcnow().date())
    service.erase_subject(session, policy, subject_id, actor="staff:dpo", now=utcnow())
    session.commit()

    lookup = client.post("/api/v1/subjects/lookup", json={"email": CUSTOMER["email"]}, headers=shop)
    assert lookup.status_code == 404
    gone = client.get(url, params={"purpose": "order_processing"}, headers=support)
    assert gone.status_code == 404
    assert session.get(Tombstone, subject_id) is not None
    assert verify(session).ok

    raw = _raw_database(engine)
    assert subject_id.encode() in raw  # the tombstone and the audit trail name the id only
    for needle in NEEDLES:
        assert needle.encode() not in raw, needle
