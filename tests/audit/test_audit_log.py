"""The audit chain: appending, verifying, and catching each way of tampering with it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from schutz.audit.models import AuditEntry
from schutz.audit.service import GENESIS, describe, record, verify

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def _append(session: Session, n: int) -> list[AuditEntry]:
    entries = [
        record(
            session,
            actor="apikey:shop-1",
            action=f"test.step{i % 3}",
            subject_id=f"subj{i}" if i % 2 else None,
            purpose="order_processing" if i % 2 else None,
            details={"n": i, "categories": ["user.name", "user.contact.email"]},
            flagged=i == 4,
            now=T0 + timedelta(seconds=i, microseconds=123),
        )
        for i in range(1, n + 1)
    ]
    session.commit()
    return entries


def test_entries_chain_from_genesis_in_order(session: Session) -> None:
    entries = _append(session, 3)
    assert [e.seq for e in entries] == [1, 2, 3]
    assert entries[0].prev_hash == GENESIS
    assert entries[1].prev_hash == entries[0].hash
    assert entries[2].prev_hash == entries[1].hash


def test_record_flushes_but_leaves_the_commit_to_the_caller(session: Session) -> None:
    record(session, actor="cli", action="test.rollback", now=T0)
    session.rollback()
    assert session.scalars(select(AuditEntry)).all() == []
    entry = record(session, actor="cli", action="test.kept", now=T0)
    session.commit()
    assert entry.seq == 1


def test_an_untouched_log_verifies(session: Session) -> None:
    assert verify(session).ok
    assert describe(verify(session)) == "intact, 0 entries"
    _append(session, 5)
    result = verify(session)
    assert result.ok
    assert result.count == 5
    assert describe(result) == "intact, 5 entries"


def test_times_come_back_as_the_same_aware_utc_instant(session: Session) -> None:
    when = datetime(2025, 3, 1, 11, 0, 0, 654321, tzinfo=UTC)
    record(session, actor="cli", action="test.time", now=when)
    session.commit()
    session.expunge_all()
    stored = session.scalars(select(AuditEntry)).one()
    assert stored.at == when
    assert stored.at.tzinfo is not None


def test_details_refuse_an_email_address(session: Session) -> None:
    with pytest.raises(ValueError, match="e-mail"):
        record(session, actor="cli", action="test.pii", details={"to": "a@b.de"}, now=T0)


def test_a_changed_action_is_caught(session: Session, engine: Engine) -> None:
    _append(session, 20)
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_entry SET action = 'test.innocent' WHERE seq = 17"))
    result = verify(session)
    assert not result.ok
    assert result.first_bad_seq == 17
    assert describe(result) == "broken at entry 17: hash does not match its contents"


def test_a_changed_detail_is_caught(session: Session, engine: Engine) -> None:
    _append(session, 5)
    with engine.begin() as conn:
        conn.execute(text("""UPDATE audit_entry SET details = '{"n": 99}' WHERE seq = 2"""))
    assert verify(session).first_bad_seq == 2


def test_a_removed_middle_entry_is_caught(session: Session, engine: Engine) -> None:
    _append(session, 10)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_entry WHERE seq = 6"))
    result = verify(session)
    assert not result.ok
    assert result.first_bad_seq == 6
    assert result.count == 5
    assert "missing" in (result.problem or "")


def test_removed_last_entries_are_caught(session: Session, engine: Engine) -> None:
    _append(session, 10)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_entry WHERE seq >= 9"))
    result = verify(session)
    assert not result.ok
    assert result.first_bad_seq == 9


def test_a_removed_and_renumbered_entry_is_caught(session: Session, engine: Engine) -> None:
    _append(session, 10)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_entry WHERE seq = 6"))
        for seq in range(7, 11):
            conn.execute(
                text("UPDATE audit_entry SET seq = :new WHERE seq = :old"),
                {"new": seq - 1, "old": seq},
            )
    result = verify(session)
    assert not result.ok
    assert result.first_bad_seq == 6


def test_swapped_entries_are_caught(session: Session, engine: Engine) -> None:
    _append(session, 10)
    with engine.begin() as conn:
        # Entries 4 and 5 trade places: each keeps its contents and hash, under the other's seq.
        conn.execute(text("UPDATE audit_entry SET seq = -4 WHERE seq = 4"))
        conn.execute(text("UPDATE audit_entry SET seq = 4 WHERE seq = 5"))
        conn.execute(text("UPDATE audit_entry SET seq = 5 WHERE seq = -4"))
    result = verify(session)
    assert not result.ok
    assert result.first_bad_seq == 4


def test_appending_after_a_truncation_does_not_hide_it(session: Session, engine: Engine) -> None:
    _append(session, 5)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_entry WHERE seq = 5"))
    record(session, actor="cli", action="test.after", now=T0)
    session.commit()
    result = verify(session)
    assert not result.ok
    assert result.first_bad_seq == 5


def test_a_lost_head_continues_from_the_last_entry(session: Session, engine: Engine) -> None:
    _append(session, 3)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_head"))
    entry = record(session, actor="cli", action="test.after", now=T0)
    session.commit()
    assert entry.seq == 4
    assert verify(session).ok
