"""Over real HTTP (uvicorn, SQLite and PostgreSQL): 20 parallel opens of one sign-in link
give exactly one privacy-centre session."""

from __future__ import annotations

import re
import threading

import httpx
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from live import uvicorn_serving
from schutz.clock import utcnow
from schutz.config import Settings
from schutz.db import make_session_factory, transaction
from schutz.policy.engine import Engine as Rules
from schutz.subject_requests.models import AccountToken
from schutz.vault import service as vault
from schutz.vault.keys import load_keyring
from webapp import deliver, delivered_to, form_token_in, token_in

pytestmark = pytest.mark.slow

EMAIL = "ada.lovelace@example.org"
PARALLEL = 20


def _customer(engine: Engine, settings: Settings, rules: Rules) -> None:
    with transaction(make_session_factory(engine)) as session:
        vault.intake(
            session, rules, load_keyring(settings), source="registration",
            purposes=["information_access"], data={"email": EMAIL}, asserted_by="shop",
            actor="test", now=utcnow(),
        )  # fmt: skip


def test_sign_in_link_opens_exactly_one_session_over_http(
    engine: Engine, settings: Settings, rules: Rules
) -> None:
    _customer(engine, settings, rules)
    with uvicorn_serving(settings.data_dir, settings.resolved_database_url) as base:
        with httpx.Client(base_url=base, timeout=30) as client:
            login = client.get("/account")
            asked = client.post(
                "/account/login", data={"email": EMAIL, "form_token": form_token_in(login.text)}
            )
            assert asked.status_code == 200
        served = settings.model_copy(update={"base_url": base})
        deliver(make_session_factory(engine), served)
        token = token_in(delivered_to(served, EMAIL)[-1][1], "/account/login")

        start = threading.Barrier(PARALLEL)
        cookies: list[str] = []
        lock = threading.Lock()

        def open_once() -> None:
            with httpx.Client(base_url=base, timeout=30) as browser:
                start.wait()
                answer = browser.post("/account/open", data={"token": token})
            if answer.status_code == 303:
                found = re.match(r"schutz_account=([^;]+)", answer.headers["set-cookie"])
                assert found is not None
                with lock:
                    cookies.append(found.group(1))
            else:
                assert answer.status_code == 410

        threads = [threading.Thread(target=open_once) for _ in range(PARALLEL)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert len(cookies) == 1
    with Session(engine) as session:
        sessions = session.scalar(
            select(func.count()).select_from(AccountToken).where(AccountToken.kind == "session")
        )
    assert sessions == 1
