"""An old backup restored after an erasure never brings the erased subject back (Art. 17).

subject A exists -> backup -> A erased -> the old backup is restored -> A stays erased (the
look-up finds nothing, the data key is gone, the tombstone is back) while B, never erased,
reads as before, and the audit chain verifies. On SQLite and PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path
from typing import cast

import pytest
from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from schutz.audit.models import AuditEntry
from schutz.audit.service import verify
from schutz.backup.decisions import gather
from schutz.backup.journal import journal_path, write_journal
from schutz.config import Settings
from schutz.errors import NotFound
from schutz.vault import service
from schutz.vault.holds import place_hold
from schutz.vault.keys import load_keyring
from schutz.vault.models import PersonalField, Subject, Tombstone

from .helpers import NOW, RULES, add_customer, invoke


def _backup(settings: Settings, *extra: str) -> Path:
    result = invoke(settings, "backup", *extra)
    assert result.exit_code == 0, result.output
    return Path(result.stdout.strip().splitlines()[-1])


def test_restoring_an_old_backup_keeps_later_erasures(
    session: Session, settings: Settings, tmp_path: Path
) -> None:
    ada = add_customer(session, settings, "ada@example.org", "Ada Lovelace")
    bob = add_customer(session, settings, "bob@example.org", "Bob Builder")
    snapshot = _backup(settings, "--output", str(tmp_path / "before.schutz-backup"))
    assert snapshot == (tmp_path / "before.schutz-backup").resolve()
    raw = snapshot.read_bytes()
    secret = load_keyring(settings).active.secret
    assert secret not in raw
    assert b"Ada Lovelace" not in raw
    assert b"ada@example.org" not in raw

    service.erase_subject(session, RULES.policy, ada, actor="dpo", now=NOW)
    late = add_customer(session, settings, "cy@example.org", "Cy Later")  # after the backup
    service.erase_subject(session, RULES.policy, late, actor="dpo", now=NOW)
    session.commit()
    session.close()

    result = invoke(settings, "restore", str(snapshot))
    assert result.exit_code == 0, result.output
    assert "1 shredded again, 1 tombstones put back" in result.stdout
    assert "Ada" not in result.output
    assert "@" not in result.output

    keyring = load_keyring(settings)
    with pytest.raises(NotFound):
        service.find_subject(session, keyring, "ada@example.org", actor="t", now=NOW)
    erased = session.get(Subject, ada)
    assert erased is not None
    assert erased.wrapped_key is None
    assert erased.erased_at is not None
    assert not session.scalars(select(PersonalField).where(PersonalField.subject_id == ada)).all()
    assert {ada, late} <= set(session.scalars(select(Tombstone.subject_id)))
    got = service.read_subject(
        session, RULES, keyring, bob, "order_processing", actor="t", role="shop", now=NOW
    )
    assert got.data["name"] == "Bob Builder"
    result_ok = verify(session)
    assert result_ok.ok, result_ok
    actions = list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)))
    assert actions[-2:] == ["vault.lookup", "vault.read"]
    assert sorted(actions[-5:-3]) == ["vault.erase", "vault.tombstone_restored"]
    assert actions[-3] == "backup.restore"
    assert journal_path(settings.data_dir).stat().st_mode & 0o077 == 0
    session.commit()


def test_restoring_the_same_backup_twice_erases_again_each_time(
    session: Session, settings: Settings, tmp_path: Path
) -> None:
    ada = add_customer(session, settings, "ada@example.org", "Ada Lovelace")
    snapshot = _backup(settings, "--output", str(tmp_path / "b.schutz-backup"))
    service.erase_subject(session, RULES.policy, ada, actor="dpo", now=NOW)
    session.commit()
    session.close()
    for expected in ("1 shredded again", "1 shredded again"):
        result = invoke(settings, "restore", str(snapshot))
        assert result.exit_code == 0, result.output
        assert expected in result.stdout
    assert session.get(Subject, ada).wrapped_key is None  # type: ignore[union-attr]
    assert verify(session).ok
    session.commit()


def test_an_interrupted_restore_is_finished_by_running_it_again(
    session: Session, settings: Settings, tmp_path: Path
) -> None:
    """The journal written before the database was replaced carries the erasure across."""
    ada = add_customer(session, settings, "ada@example.org", "Ada Lovelace")
    snapshot = _backup(settings, "--output", str(tmp_path / "b.schutz-backup"))
    service.erase_subject(session, RULES.policy, ada, actor="dpo", now=NOW)
    session.commit()
    session.close()
    # As if a restore died after saving the journal and replacing the database, before the
    # erasures were re-applied: the database holds the old snapshot, the journal the erasure.
    journal = journal_path(settings.data_dir)
    write_journal(journal, gather(session.get_bind()))  # type: ignore[arg-type]
    session.execute(cast(Table, Tombstone.__table__).delete())
    session.commit()

    result = invoke(settings, "restore", str(snapshot))
    assert result.exit_code == 0, result.output
    assert "1 shredded again" in result.stdout
    assert session.get(Subject, ada).wrapped_key is None  # type: ignore[union-attr]
    session.commit()


def test_backup_goes_to_the_data_dir_by_default_and_prints_its_path_last(
    session: Session, settings: Settings
) -> None:
    add_customer(session, settings, "ada@example.org", "Ada Lovelace")
    session.close()
    path = _backup(settings)
    assert path.parent == (settings.data_dir / "backups").resolve()
    assert path.stat().st_mode & 0o077 == 0
    assert path.read_bytes().startswith(b"SCHUTZBK")


def test_an_erasure_waiting_under_a_legal_hold_stays_waiting_after_a_restore(
    session: Session, settings: Settings, tmp_path: Path
) -> None:
    """Erased under an invoice hold after the backup: restored, the subject is again
    restricted with its erasure due, and its address is gone again."""
    ada = add_customer(session, settings, "ada@example.org", "Ada Lovelace")
    place_hold(
        session,
        RULES.policy,
        ada,
        "invoices",
        reference="order:A-1",
        event_date=NOW.date(),
        actor="shop",
        now=NOW,
    )
    session.commit()
    snapshot = _backup(settings, "--output", str(tmp_path / "b.schutz-backup"))
    assert not service.erase_subject(session, RULES.policy, ada, actor="dpo", now=NOW).erased
    session.commit()
    session.close()

    for _ in range(2):
        result = invoke(settings, "restore", str(snapshot))
        assert result.exit_code == 0, result.output
        assert "1 erased subjects are only restricted" in result.stdout
    subject = session.get(Subject, ada)
    assert subject is not None
    assert subject.restricted_at is not None
    assert subject.erasure_due_on is not None
    with pytest.raises(NotFound):
        service.find_subject(session, load_keyring(settings), "ada@example.org", actor="t", now=NOW)
    assert verify(session).ok
    session.commit()
