"""An erasure leaves no readable page behind in SQLite: with `secure_delete` the freed pages
hold zeros, and the write-ahead log is folded in and emptied once the erasure commits, so
the subject's wrapped data key (what crypto-shredding destroys) and its deleted fields are
nowhere in the files."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from records import NOW, customer, take_order
from schutz.config import Settings
from schutz.db import make_engine, make_session_factory, migrate, transaction
from schutz.policy.engine import Engine as Rules
from schutz.vault import service as vault
from schutz.vault.keys import load_keyring
from schutz.vault.models import PersonalField, Subject
from sqlite_files import sqlite_bytes


def _ciphertexts(session: Session, subject_id: str) -> list[bytes]:
    rows = session.scalars(
        select(PersonalField.ciphertext).where(PersonalField.subject_id == subject_id)
    )
    return [bytes(c) for c in rows]


def _wrapped_key(session: Session, subject_id: str) -> bytes:
    subject = session.get(Subject, subject_id)
    assert subject is not None
    assert subject.wrapped_key is not None
    return bytes(subject.wrapped_key)


def test_an_erased_subjects_wrapped_key_is_in_no_page_of_the_database_or_its_log(
    tmp_path: Path, rules: Rules
) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    database = settings.data_dir / "schutz.db"
    engine = make_engine(settings.resolved_database_url)
    try:
        migrate(engine)
        sessions = make_session_factory(engine)
        keyring = load_keyring(settings)
        with transaction(sessions) as s:
            kept = take_order(s, rules, keyring, customer(email="kept@example.org")).subject_id
            gone = take_order(s, rules, keyring, customer(email="gone@example.org")).subject_id
        with sessions() as s:
            kept_key, gone_key = _wrapped_key(s, kept), _wrapped_key(s, gone)
            gone_fields = _ciphertexts(s, gone)
        assert gone_key in sqlite_bytes(database)
        assert len(gone_fields) > 3

        with transaction(sessions) as s:
            vault.erase_subject(s, rules.policy, gone, actor="dpo", now=NOW)

        stored = sqlite_bytes(database)
        assert gone_key not in stored
        assert [c for c in gone_fields if c in stored] == []
        assert kept_key in stored  # the scan does see the keys that remain
        assert database.with_name("schutz.db-wal").stat().st_size == 0
    finally:
        engine.dispose()


def test_every_sqlite_connection_zeroes_what_it_deletes(tmp_path: Path) -> None:
    # Debian's SQLite is built with secure_delete on; other builds are not, so Schutz sets it.
    engine = make_engine(f"sqlite:///{tmp_path / 'schutz.db'}")
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA secure_delete").scalar() == 1
    finally:
        engine.dispose()
