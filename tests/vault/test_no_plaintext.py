"""The database never holds a personal value in plaintext: scan the SQLite file and a pg_dump."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import Engine, make_url, text
from sqlalchemy.orm import Session

from records import NOW, take_order
from schutz.policy.engine import Engine as Rules
from schutz.vault import service
from schutz.vault.keys import Keyring
from sqlite_files import sqlite_bytes

VALUES = {
    "email": "zebulon.quackenbush@example.org",
    "name": "Zebulon Quackenbush",
    "phone": "+49 89 2233445",
    "postal_address.street": "Xylophonweg 17",
    "postal_address.postal_code": "80331",
    "postal_address.city": "Zwiebelhausen",
    "postal_address.country": "DE",
}
NEEDLES = [
    "zebulon.quackenbush@example.org",
    "Zebulon",
    "Quackenbush",
    "quackenbush",
    "Xylophonweg",
    "Zwiebelhausen",
    "+49892233445",
    "2233445",
]


def database_bytes(engine: Engine) -> bytes:
    """Everything the database keeps on disk for this test's data, as bytes."""
    url = engine.url
    if url.get_backend_name() == "sqlite":
        with engine.connect() as conn:
            conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        return sqlite_bytes(Path(str(url.database)))
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        pytest.fail("pg_dump is not installed")
    options = str(make_url(str(url)).query.get("options", ""))
    schema = options.split("search_path=", 1)[-1]
    dump = subprocess.run(
        [
            pg_dump,
            "-h",
            url.host or "127.0.0.1",
            "-p",
            str(url.port or 5432),
            "-U",
            url.username or "postgres",
            "--schema",
            schema,
            str(url.database),
        ],
        capture_output=True,
        check=True,
    )
    return dump.stdout


def test_stored_values_appear_nowhere_in_the_database(
    engine: Engine, session: Session, rules: Rules, keyring: Keyring
) -> None:
    subject_id = take_order(session, rules, keyring, VALUES).subject_id
    service.read_subject(
        session, rules, keyring, subject_id, "order_processing", actor="t", role="shop", now=NOW
    )
    session.commit()
    raw = database_bytes(engine)
    assert b"vault_field" in raw  # the scan sees the vault's tables ...
    assert subject_id.encode() in raw  # ... and this test's rows
    for needle in NEEDLES:
        assert needle.encode() not in raw, needle
        assert needle.encode("utf-16-le") not in raw, needle
