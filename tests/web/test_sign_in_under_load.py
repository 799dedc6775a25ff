"""Staff sign-in under attack, over real HTTP against uvicorn, on SQLite and PostgreSQL.

The per-network rate limit of the sign-in path is switched off here, so that the requests
reach the password checks this module is about.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from live import uvicorn_serving
from schutz.audit.models import AuditEntry
from schutz.clock import utcnow
from schutz.identity.models import StaffLoginThrottle
from schutz.identity.service import add_staff

EMAIL, PASSWORD = "ada.admin@shop.example", "a long enough secret"
TIMEOUT = 120.0


@pytest.fixture
def server(
    tmp_path: Path, db_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    with Session(engine) as session:
        add_staff(session, email=EMAIL, role="admin", password=PASSWORD, actor="t", now=utcnow())
        session.commit()
    monkeypatch.setenv("SCHUTZ_RATE_LIMIT_STAFF_LOGIN", "off")
    with uvicorn_serving(tmp_path, db_url) as base:
        yield base


def wrong_passwords_at_once(base: str, networks: list[str]) -> list[httpx.Response]:
    """One browser per network: fetch the sign-in form, then all post a wrong password at
    the same moment (uvicorn takes the client from X-Forwarded-For: 127.0.0.1 is trusted)."""
    ready = threading.Barrier(len(networks))

    def one(network: str) -> httpx.Response:
        headers = {"X-Forwarded-For": network}
        with httpx.Client(base_url=base, timeout=TIMEOUT, headers=headers) as client:
            form = client.get("/staff/login")
            token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
            assert token is not None
            data = {"email": EMAIL, "password": "wrong", "csrf_token": token.group(1)}
            ready.wait()
            return client.post("/staff/login", data=data)

    with ThreadPoolExecutor(max_workers=len(networks)) as pool:
        return list(pool.map(one, networks))


def test_a_flood_of_bad_sign_ins_is_turned_away_while_pages_keep_answering(
    server: str,
) -> None:
    networks = [f"10.{n // 200}.{n % 200}.1" for n in range(100)]  # no two alike: none throttled
    privacy: list[int] = []

    def read_the_policy_meanwhile() -> None:
        with httpx.Client(base_url=server, timeout=TIMEOUT) as client:
            privacy.extend(client.get("/privacy").status_code for _ in range(5))
            # A page that needs the database: sign-ins waiting for their turn hold no session.
            privacy.extend(client.get("/readyz").status_code for _ in range(5))

    reader = threading.Thread(target=read_the_policy_meanwhile)
    reader.start()
    answers = wrong_passwords_at_once(server, networks)
    reader.join()
    assert privacy == [200] * 10
    assert {a.status_code for a in answers} <= {401, 503}
    busy = [a for a in answers if a.status_code == 503]
    assert all(a.headers.get("retry-after") == "2" for a in busy)
    with httpx.Client(base_url=server, timeout=TIMEOUT) as client:
        assert client.get("/healthz").status_code == 200


def test_parallel_wrong_passwords_from_one_network_are_each_counted_once(
    server: str, session: Session
) -> None:
    answers = wrong_passwords_at_once(server, ["198.51.100.7"] * 40)
    statuses = [a.status_code for a in answers]
    assert set(statuses) <= {401, 429, 503}
    checked = statuses.count(401)
    assert 1 <= checked <= 5
    assert all(int(a.headers["retry-after"]) >= 1 for a in answers if a.status_code != 401)
    row = session.scalars(select(StaffLoginThrottle)).one()
    assert row.failures == checked
    failed = session.scalars(
        select(AuditEntry.seq).where(AuditEntry.action == "staff.login_failed")
    ).all()
    assert len(failed) == checked
