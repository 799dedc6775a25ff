"""Hundreds of simultaneous requests on a real uvicorn: every one answered, none with a 5xx.

Each database-using request once held a pooled connection between its thread hops while
waiting for a worker thread, and the worker threads waited for connections: at 100
connections the server stopped answering and, after the pool's 30 s timeout, sent 500s.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from live import migrated_sqlite_url, uvicorn_serving
from schutz.clock import utcnow
from schutz.db import make_engine, make_session_factory, transaction
from schutz.identity.service import create_api_key
from webapp import GRACE_ORDER

pytestmark = pytest.mark.slow

AT_ONCE = 200


def _shop_key(database_url: str) -> str:
    engine = make_engine(database_url)
    with transaction(make_session_factory(engine)) as session:
        _, key = create_api_key(session, name="shop", role="shop", actor="test", now=utcnow())
    engine.dispose()
    return key


async def _all_at_once(base: str, paths: list[str], headers: dict[str, str]) -> list[int]:
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    timeout = httpx.Timeout(120.0)  # the old stall answered 500 after 30 s
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=timeout) as client:
        answers = await asyncio.gather(*(client.get(p, headers=headers) for p in paths))
    return [answer.status_code for answer in answers]


def test_hundreds_of_simultaneous_requests_are_all_answered_without_server_errors(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    database_url = migrated_sqlite_url(data_dir)
    key = _shop_key(database_url)
    headers = {"Authorization": f"Bearer {key}"}
    with uvicorn_serving(data_dir, database_url) as base:
        stored = httpx.post(f"{base}/api/v1/subjects", json=GRACE_ORDER, headers=headers)
        read = f"/api/v1/subjects/{stored.json()['subject_id']}?purpose=order_processing"
        paths = ["/healthz", "/readyz", read] * AT_ONCE
        # In a thread of its own: the browser tests' Playwright may hold this thread's loop.
        with ThreadPoolExecutor(max_workers=1) as pool:
            statuses = pool.submit(asyncio.run, _all_at_once(base, paths, headers)).result()
    assert len(statuses) == 3 * AT_ONCE
    assert sorted(set(statuses)) == [200]
