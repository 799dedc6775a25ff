"""`GET /api/v1/audiences/{purpose}`: NDJSON, marketing role only, objectors left out."""

from __future__ import annotations

import json

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from schutz.audit.models import AuditEntry
from webapp import Headers, TestClient


def customers(client: TestClient, auth: Headers, n: int) -> list[str]:
    ids = []
    for i in range(n):
        body = {"source": "registration", "purposes": ["direct_marketing"],
                "data": {"email": f"c{i}@example.org"}}  # fmt: skip
        ids.append(
            client.post("/api/v1/subjects", json=body, headers=auth("shop")).json()["subject_id"]
        )
    return ids


def test_direct_marketing_audience_leaves_objectors_out(
    client: TestClient, auth: Headers, engine: Engine
) -> None:
    ids = customers(client, auth, 3)
    objection = {"subject_id": ids[0], "purpose": "direct_marketing", "action": "object",
                 "channel": "fax", "evidence": "f-1"}  # fmt: skip
    client.post("/api/v1/consents", json=objection, headers=auth("support"))

    answer = client.get("/api/v1/audiences/direct_marketing", headers=auth("marketing"))
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/x-ndjson")
    rows = [json.loads(line) for line in answer.text.splitlines()]
    assert sorted(r["subject_id"] for r in rows) == sorted(ids[1:])
    assert {r["email"] for r in rows} == {"c1@example.org", "c2@example.org"}
    with Session(engine) as session:
        (read,) = session.scalars(select(AuditEntry).where(AuditEntry.action == "vault.read"))
    # One entry for the batch, naming whom it read; no address in it.
    assert (read.purpose, read.subject_id) == ("direct_marketing", None)
    assert read.details["count"] == 2
    assert sorted(read.details["subject_ids"]) == sorted(ids[1:])
    assert "@" not in json.dumps(read.details)


def test_only_marketing_and_only_audience_purposes(client: TestClient, auth: Headers) -> None:
    assert client.get("/api/v1/audiences/newsletter", headers=auth("dpo")).status_code == 403
    assert client.get("/api/v1/audiences/newsletter").status_code == 401
    unknown = client.get("/api/v1/audiences/nonsense", headers=auth("marketing"))
    assert unknown.status_code == 422
    assert "not a purpose" in unknown.json()["detail"]
    assert client.get("/api/v1/audiences/billing", headers=auth("marketing")).status_code == 422
    empty = client.get("/api/v1/audiences/newsletter", headers=auth("marketing"))
    assert (empty.status_code, empty.text) == (200, "")
