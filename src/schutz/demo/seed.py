"""The demo a newcomer sees after `make run`: staff logins, an API key, customers with a story.

Seeding is idempotent: the credentials are made once and kept (mode 0600) in the data
directory, so every later `schutz serve --demo` prints the same ones.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from schutz.breaches.service import BreachFacts, record_breach
from schutz.clock import utcnow
from schutz.config import Settings
from schutz.db import transaction
from schutz.demo.console import seed_console
from schutz.disclosures.demo import seed_demo_recipients
from schutz.identity.service import add_staff, create_api_key
from schutz.policy.loader import load_policy_set
from schutz.policy.schema import Policy
from schutz.vault.keys import load_keyring
from schutz.vault.service import intake

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
    # Every run: the sandbox processors' URLs follow the port served this time.
    with transaction(sessions) as session:
        seed_demo_recipients(session, settings, base_url=base, now=utcnow())
    echo("Demo data is ready.")
    echo(f"  Privacy policy:  {base}/privacy   (German: {base}/privacy?lang=de)")
    echo(f"  Demo shop:       {base}/shop   (buy a phone, then see what each processor got:")
    echo(f"                   {base}/sandbox)")
    echo(f"  Contact form:    {base}/contact   Newsletter: {base}/newsletter")
    echo(f"  Staff console:   {base}/staff/login")
    echo(f"    sign in as {', '.join(str(s) for s in creds['staff'])}")  # type: ignore[attr-defined]
    echo(f"    password: {creds['staff_password']}")
    echo(f"  API docs:        {base}/api/docs")
    echo(f"  Shop API key (role shop): {creds['shop_api_key']}")
    echo(f"  DPO API key (role dpo):   {creds['dpo_api_key']}")
    return creds


@dataclass(frozen=True)
class DemoIntake:
    source: str
    purposes: tuple[str, ...]
    data: dict[str, str]
    asserted_by: str = "shop"


_ERIKA = {
    "email": "erika.mustermann@example.org",
    "name": "Erika Mustermann",
    "postal_address.street": "Heidestraße 17",
    "postal_address.postal_code": "51147",
    "postal_address.city": "Köln",
    "postal_address.country": "DE",
}
_MAX = {
    "email": "max.schmidt@example.org",
    "name": "Max Schmidt",
    "postal_address.street": "Lindenallee 5",
    "postal_address.postal_code": "40549",
    "postal_address.city": "Düsseldorf",
    "postal_address.country": "DE",
}
DEMO_INTAKES = (
    DemoIntake("registration", ("information_access", "service_improvement"), _ERIKA),
    DemoIntake("order", ("order_processing", "billing"), _ERIKA),
    DemoIntake("registration", ("information_access", "direct_marketing"), _MAX),
    DemoIntake(
        "contact_form",
        ("answer_queries",),
        {"email": "jane.doe@example.org", "name": "Jane Doe"},
        "form:contact",
    ),
)


def seed_story(session: Session, settings: Settings, *, now: datetime) -> None:
    """Customers in the vault, encrypted like any other; later capabilities add their part."""
    policies = load_policy_set(settings.policy)
    rules = policies.engine(policies.in_force(now.date()).version)
    keyring = load_keyring(settings)
    subject_ids = []
    for step in DEMO_INTAKES:
        result = intake(
            session,
            rules,
            keyring,
            source=step.source,
            purposes=list(step.purposes),
            data=step.data,
            asserted_by=step.asserted_by,
            actor="demo",
            now=now,
        )
        subject_ids.append(result.subject_id)
    seed_console(session, settings, rules, keyring, subject_ids[0], now=now)
    seed_breach(session, rules.policy, now=now)


def seed_breach(session: Session, policy: Policy, *, now: datetime) -> None:
    """One recorded breach, 30 hours into its 72-hour clock, for the DPO's register."""
    facts = BreachFacts(
        title="Shipping labels on an open file share",
        nature="A folder of printed shipping labels was readable on the warehouse network"
        " share without a login.",
        aware_at=now - timedelta(hours=30),
        categories=("user.name", "user.contact.address"),
        risk="risk",
        consequences="Names and delivery addresses could be read by warehouse visitors.",
        measures="Share closed, access logs checked, label files deleted after printing.",
        sources=("order",),
        occurred_from=now - timedelta(days=3),
        occurred_until=now,
    )
    record_breach(session, policy, facts, actor="demo", now=now)
