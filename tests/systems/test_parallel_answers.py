"""Twenty parallel answers of a system over real HTTP record one answer and complete once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, func, select

from live import uvicorn_serving
from schutz.client import callback_token
from schutz.clock import utcnow
from schutz.config import Settings
from schutz.db import make_session_factory, transaction
from schutz.policy.loader import load_policy_set
from schutz.subject_requests import service as requests
from schutz.subject_requests.models import RequestEvent
from schutz.subject_requests.tokens import Links
from schutz.vault.keys import load_keyring
from systems.builders import SECRET, point_system, policy_with_systems
from webapp import GRACE_ORDER, api_keys, deliver

pytestmark = pytest.mark.slow


def test_twenty_parallel_answers_complete_the_request_once(
    tmp_path: Path, db_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    policy_dir = policy_with_systems(tmp_path / "policy")
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o700)
    settings = Settings(data_dir=data_dir, database_url=db_url, policy=policy_dir)
    monkeypatch.setenv("SCHUTZ_POLICY", str(policy_dir))
    keyring = load_keyring(settings)
    sessions = make_session_factory(engine)
    point_system(sessions, settings, "http://127.0.0.1:9/events")
    shop = api_keys(engine)("shop")
    with uvicorn_serving(data_dir, db_url) as base, httpx.Client(base_url=base) as http:
        assert http.post("/api/v1/subjects", json=GRACE_ORDER, headers=shop).status_code == 201
        rules = load_policy_set(policy_dir).engine("2026-11")
        links = Links(base_url=base, secret=[b"0" * 32])
        with transaction(sessions) as session:
            request_id = requests.submit(
                session, rules, keyring, links, kind="access",
                email=GRACE_ORDER["data"]["email"], channel="post", actor="test", now=utcnow(),
            ).request_id  # fmt: skip
        deliver(sessions, settings)
        with transaction(sessions) as session:
            requests.verify_manually(session, rules, keyring, links, request_id,
                                     note="letter", actor="test", now=utcnow())  # fmt: skip
        token = callback_token(SECRET, request_id, "shop_database")
        url = f"/api/v1/requests/{request_id}/systems/shop_database"

        def answer(_: int) -> int:
            with httpx.Client(base_url=base, timeout=60) as own:
                bearer = {"Authorization": f"Bearer {token}"}
                return own.post(url, json={"status": "done"}, headers=bearer).status_code

        with ThreadPoolExecutor(20) as pool:
            codes = list(pool.map(answer, range(20)))
    assert codes == [200] * 20
    with sessions() as session:
        actions = session.execute(
            select(RequestEvent.action, func.count())
            .where(RequestEvent.request_id == request_id)
            .group_by(RequestEvent.action)
        ).all()
    counted: dict[str, int] = dict(actions)
    assert counted["system_done"] == 1
    assert counted["completed"] == 1
