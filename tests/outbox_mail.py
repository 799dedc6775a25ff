"""Queued mails as their recipients will get them: payloads opened through the mail domain.

Mail to a data subject is sealed under the subject's key in the outbox, so a test reads it the
way the deliverer does, with the installation's keyring.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from schutz.config import Settings
from schutz.db import make_engine
from schutz.mail.models import OutboxMessage
from schutz.mail.service import open_payload
from schutz.vault.keys import load_keyring


@dataclass(frozen=True)
class QueuedMail:
    id: str
    payload: dict[str, Any]


def queued_mails(database_url: str, data_dir: Path) -> list[QueuedMail]:
    """Every outbox row, oldest first, with its payload opened."""
    keyring = load_keyring(Settings(data_dir=data_dir, database_url=database_url))
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            rows = session.scalars(select(OutboxMessage).order_by(OutboxMessage.created_at))
            return [QueuedMail(r.id, open_payload(session, keyring, r.payload)) for r in rows]
    finally:
        engine.dispose()
