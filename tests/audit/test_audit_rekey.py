"""Upgrading: entries from before the keyed chain verify only once `rekey` has MACed them."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, delete, select, text
from sqlalchemy.orm import Session

from schutz.audit.chain import GENESIS, legacy_hash
from schutz.audit.models import HEAD_ID, AuditEntry, AuditHead
from schutz.audit.rekey import Rekeyed, rekey
from schutz.audit.service import describe, record, verify
from schutz.audit.verify import UNKEYED, VerifyResult

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def _write_unkeyed(session: Session, n: int) -> None:
    """The chain as Schutz wrote it before migration 0008: plain SHA-256, no key id."""
    prev = GENESIS
    for seq in range(1, n + 1):
        entry = AuditEntry(
            seq=seq, at=NOW, actor="cli", action="test.old", subject_id=None, purpose=None,
            details={"seq": seq}, flagged=False, prev_hash=prev, key_id=None,
        )  # fmt: skip
        entry.hash = legacy_hash(entry, prev)
        session.add(entry)
        prev = entry.hash
    session.execute(delete(AuditHead))
    session.add(AuditHead(id=HEAD_ID, seq=n, hash=prev))
    if session.get_bind().dialect.name == "postgresql":  # as migration 0013 leaves it
        session.execute(text("SELECT setval('audit_entry_seq', :next, false)"), {"next": n + 1})
    session.commit()


def _append(session: Session, n: int) -> None:
    for i in range(n):
        record(session, actor="cli", action="test.new", details={"i": i}, now=NOW)
    session.commit()


def test_an_upgraded_chain_names_its_unkeyed_entries_until_rekeyed(session: Session) -> None:
    _write_unkeyed(session, 5)
    _append(session, 3)  # written after the upgrade, chained onto the old head
    assert describe(verify(session)) == f"broken at entry 1: {UNKEYED}"
    assert rekey(session, actor="cli", now=NOW) == Rekeyed(8)
    session.commit()
    assert describe(verify(session)) == "intact, 9 entries"
    last = session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)).one()
    assert (last.action, last.details) == ("audit.rekey", {"entries": 8})


def test_rekey_of_a_keyed_chain_changes_nothing(session: Session) -> None:
    _append(session, 3)
    before = session.scalars(select(AuditEntry.hash).order_by(AuditEntry.seq)).all()
    assert rekey(session, actor="cli", now=NOW) == Rekeyed(0)
    session.commit()
    assert session.scalars(select(AuditEntry.hash).order_by(AuditEntry.seq)).all() == before


def test_rekey_refuses_an_old_chain_that_was_tampered_with(
    session: Session, engine: Engine
) -> None:
    _write_unkeyed(session, 5)
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_entry SET actor = 'nobody' WHERE seq = 3"))
    result = rekey(session, actor="cli", now=NOW)
    session.rollback()
    assert isinstance(result, VerifyResult)
    assert describe(result) == "broken at entry 3: hash does not match its contents"


def test_rekey_refuses_unkeyed_entries_after_keyed_ones(session: Session, engine: Engine) -> None:
    # Someone turned keyed entries back into recomputable ones: that is tampering, not age.
    _append(session, 4)
    with Session(engine) as attacker, attacker.begin():
        entries = attacker.scalars(select(AuditEntry).order_by(AuditEntry.seq)).all()
        prev = entries[1].hash
        for entry in entries[2:]:
            entry.prev_hash, entry.key_id = prev, None
            entry.hash = legacy_hash(entry, prev)
            prev = entry.hash
    result = rekey(session, actor="cli", now=NOW)
    session.rollback()
    assert isinstance(result, VerifyResult)
    assert result.first_bad_seq == 3
