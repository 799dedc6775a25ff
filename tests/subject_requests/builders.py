"""Typed helpers for request tests: the customers' data (stored with `records.take_order`),
the worker's look-ups, and the mails they get."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from records import customer as customer_data
from schutz.errors import NotFound
from schutz.mail.models import OutboxMessage
from schutz.mail.service import open_payload
from schutz.policy.engine import Engine
from schutz.subject_requests import deferred
from schutz.vault.keys import Keyring

from .conftest import NOW

ADA = customer_data(email="ada.lovelace@example.org")
LINK_SECRET = b"test-secret-for-request-links"
GRACE = {"email": "grace.hopper@example.org", "name": "Grace Hopper"}


def handle_lookups(
    session: Session, rules: Engine, keyring: Keyring, *, now: datetime = NOW
) -> int:
    """The worker's half of the public forms, in the test's transaction: every queued
    look-up handled; returns how many."""
    tools = deferred.Tools(rules=rules, keyring=keyring, secret=LINK_SECRET)
    ids = deferred.pending_ids(session)
    return sum(deferred.handle_job(session, tools, i, now=now) for i in ids)


def mails_to(session: Session, keyring: Keyring, address: str) -> list[dict[str, str]]:
    """Payloads of the mails queued to `address`, sealed ones opened; those of an erased
    subject cannot be opened by anyone any more and are left out."""
    rows = session.scalars(select(OutboxMessage).order_by(OutboxMessage.created_at)).all()
    payloads = []
    for row in rows:
        try:
            payloads.append(open_payload(session, keyring, row.payload))
        except NotFound:
            continue
    return [p for p in payloads if p.get("to") == address]


def link_token(body: str, path: str) -> str:
    from urllib.parse import unquote

    marker = f"{path}?token="
    start = body.index(marker) + len(marker)
    end = min(i for i in (body.find("\n", start), len(body)) if i >= 0)
    return unquote(body[start:end].strip())
