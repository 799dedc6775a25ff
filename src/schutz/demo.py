"""The demo a newcomer sees after `make run`: staff logins, an API key, customers with a story.

Seeding is idempotent: the credentials are made once and kept (mode 0600) in the data
directory, so every later `schutz serve --demo` prints the same ones.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from schutz.clock import utcnow
from schutz.config import Settings
from schutz.db import transaction
from schutz.identity.service import add_staff, create_api_key

DEMO_STAFF = ("admin", "dpo", "support", "marketing", "fulfilment")
DEMO_DOMAIN = "demo.schutz.example"
CREDENTIALS_FILE = "demo-credentials.json"


def _credentials_path(settings: Settings) -> Path:
    return settings.data_dir / CREDENTIALS_FILE


def _write_private(path: Path, data: dict[str, object]) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh, indent=2)


def seed_demo(
    sessions: sessionmaker[Session],
    settings: Settings,
    *,
    port: int,
    echo: Callable[[str], object] = print,
) -> dict[str, object]:
    """Create the demo's staff and API key once; print how to use them every time."""
    path = _credentials_path(settings)
    if path.exists():
        creds: dict[str, object] = json.loads(path.read_text())
    else:
        password = f"demo-{secrets.token_urlsafe(9)}"
        now = utcnow()
        with transaction(sessions) as session:
            for role in DEMO_STAFF:
                add_staff(
                    session,
                    email=f"{role}@{DEMO_DOMAIN}",
                    role=role,
                    password=password,
                    actor="demo",
                    now=now,
                )
            _, shop_key = create_api_key(
                session, name="demo-shop", role="shop", actor="demo", now=now
            )
            _, dpo_key = create_api_key(session, name="demo-dpo", role="dpo", actor="demo", now=now)
            seed_story(session, settings, now=now)
        creds = {
            "staff_password": password,
            "staff": [f"{role}@{DEMO_DOMAIN}" for role in DEMO_STAFF],
            "shop_api_key": shop_key,
            "dpo_api_key": dpo_key,
        }
        _write_private(path, creds)
    base = f"http://127.0.0.1:{port}"
    echo("Demo data is ready.")
    echo(f"  Privacy policy:  {base}/privacy   (German: {base}/privacy?lang=de)")
    echo(f"  Staff console:   {base}/staff/login")
    echo(f"    sign in as {', '.join(str(s) for s in creds['staff'])}")  # type: ignore[attr-defined]
    echo(f"    password: {creds['staff_password']}")
    echo(f"  API docs:        {base}/api/docs")
    echo(f"  Shop API key (role shop): {creds['shop_api_key']}")
    echo(f"  DPO API key (role dpo):   {creds['dpo_api_key']}")
    return creds


def seed_story(session: Session, settings: Settings, *, now: object) -> None:
    """Customers, consents and history for the demo; grows with every capability."""
