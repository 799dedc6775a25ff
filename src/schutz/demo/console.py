"""Demo data for the staff console: requests with deadlines, one of them overdue, and a
read for an exception purpose that the audit log flags for the DPO."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from schutz.config import Settings
from schutz.identity.signing_secrets import load_or_create
from schutz.policy.engine import Engine
from schutz.subject_requests import service as requests
from schutz.subject_requests.tokens import Links
from schutz.vault.keys import Keyring
from schutz.vault.service import read_subject

# (days ago, kind, what the customer wrote) for the first demo customer; the erasure is
# past its one-month deadline on the dashboard.
DEMO_REQUESTS = (
    (40, "erasure", "Please delete my customer account and everything you hold about me."),
    (3, "rectification", "My street is spelt Heidestrasse 17a, not Heidestraße 17."),
)


def seed_console(
    session: Session,
    settings: Settings,
    rules: Engine,
    keyring: Keyring,
    subject_id: str,
    *,
    now: datetime,
) -> None:
    """Open requests of `subject_id` and one flagged read, as the console shows them."""
    links = Links(
        base_url=settings.base_url, secret=load_or_create(settings.data_dir).accepted(now)
    )
    for days, kind, text in DEMO_REQUESTS:
        requests.submit_verified(
            session, rules, keyring, links, subject_id=subject_id, kind=kind, details=text,
            lang="de", actor="subject", now=now - timedelta(days=days),
        )  # fmt: skip
    read_subject(
        session, rules, keyring, subject_id, "legal_obligation", actor="demo", role="dpo",
        justification="Demo: a court order asks for the invoices of this customer.", now=now,
    )  # fmt: skip
