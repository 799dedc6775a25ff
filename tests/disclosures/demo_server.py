"""A real Schutz in demo mode for shop tests: uvicorn in a subprocess, worker thread inside.

Until `schutz.web.app` wires the order, shop and sandbox routers in demo mode, the server
script includes them itself, seeds a shop and a DPO API key and a staff user, points the
processors at the sandbox (`seed_demo_recipients`), and starts the embedded outbox worker.
It prints one JSON line with the base URL and the keys once /healthz answers.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from live import free_port, require_mark, stop

SCRIPT = r"""
import json, sys
import uvicorn
from schutz.clock import utcnow
from schutz.config import Settings
from schutz.db import make_engine, make_session_factory, migrate, transaction
from schutz.disclosures.demo import seed_demo_recipients
from schutz.identity.service import add_staff, create_api_key
from schutz.demo import sandbox, shop
from schutz.demo.app import create_demo_app
from schutz.web.routes import orders, staff, staff_disclosures, subjects
from schutz.worker import start_in_thread

settings = Settings()
engine = make_engine(settings.resolved_database_url)
migrate(engine)
sessions = make_session_factory(engine)
now = utcnow()
with transaction(sessions) as session:
    _, shop_key = create_api_key(session, name="demo-shop", role="shop", actor="demo", now=now)
    _, dpo_key = create_api_key(session, name="demo-dpo", role="dpo", actor="demo", now=now)
    add_staff(session, email="fulfilment@demo.example", role="fulfilment",
              password="demo password 123", actor="demo", now=now)
    seed_demo_recipients(session, settings, base_url=settings.base_url, now=now)
app = create_demo_app(settings)
for module in (subjects, orders, shop, sandbox, staff, staff_disclosures):
    paths = {getattr(r, "path", "") for r in module.router.routes}
    if not any(getattr(r, "path", "") in paths for r in app.routes):
        app.include_router(module.router)
app.state.shop_api_key = shop_key
start_in_thread(sessions, settings)
print(json.dumps({"shop_key": shop_key, "dpo_key": dpo_key}), flush=True)
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""


@dataclass(frozen=True)
class DemoServer:
    base_url: str
    shop_key: str
    dpo_key: str
    data_dir: Path


@contextmanager
def demo_server(data_dir: Path, database_url: str | None = None) -> Iterator[DemoServer]:
    """Start the demo server, wait for /healthz, yield it, stop it."""
    require_mark("slow", "starts the demo server")
    data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "SCHUTZ_DATA_DIR": str(data_dir),
        "SCHUTZ_DATABASE_URL": database_url or f"sqlite:///{data_dir / 'schutz.db'}",
        "SCHUTZ_BASE_URL": base_url,
    }
    log = (data_dir / "server.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, str(port)], env=env, stdout=subprocess.PIPE, stderr=log
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line:
            raise RuntimeError((data_dir / "server.log").read_text())
        keys = json.loads(line)
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{base_url}/healthz", timeout=1) as answer:  # noqa: S310 - local test server
                    if answer.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError((data_dir / "server.log").read_text()) from None
                time.sleep(0.1)
        yield DemoServer(base_url, keys["shop_key"], keys["dpo_key"], data_dir)
    finally:
        stop(process)
        if process.stdout is not None:
            process.stdout.close()
        log.close()
