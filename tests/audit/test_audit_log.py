"""The audit chain: appending, verifying, and catching each way of tampering with it.

The tamper table plays someone who holds the database but not the audit key file: they
change, remove, renumber and swap rows, rewrite an entry and recompute every MAC after it
under a key of their own (or as the old unkeyed SHA-256), or cut the chain back and reset
the head. Each row says which entry `verify` must name.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select, text, update
from sqlalchemy.orm import Session

from schutz.audit.chain import GENESIS, entry_mac, legacy_hash
from schutz.audit.keys import AuditKey, audit_key_for
from schutz.audit.models import AuditEntry, AuditHead
from schutz.audit.service import describe, record, verify
from schutz.audit.verify import UNKEYED, Checkpoint

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
LENGTH = 20
ANCHORED = 15  # the entry a checkpoint was taken at, in the rows that use one


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


def _sql(*statements: str) -> Callable[[Engine], None]:
    def change(engine: Engine) -> None:
        with engine.begin() as conn:
            for statement in statements:
                conn.execute(text(statement))

    return change


def _rehash_from(
    seq: int, seal: Callable[[AuditEntry, str], tuple[str, str | None]]
) -> Callable[[Engine], None]:
    """Rewrite entry `seq`'s actor, then recompute every later link and MAC with `seal`."""

    def change(engine: Engine) -> None:
        with Session(engine) as attacker, attacker.begin():
            entries = attacker.scalars(select(AuditEntry).order_by(AuditEntry.seq)).all()
            prev = GENESIS if seq == 1 else entries[seq - 2].hash
            for entry in entries[seq - 1 :]:
                if entry.seq == seq:
                    entry.actor = "staff:someone-else"
                entry.prev_hash = prev
                entry.hash, entry.key_id = seal(entry, prev)
                prev = entry.hash
            attacker.execute(update(AuditHead).values(hash=prev))

    return change


def _guessed_key(entry: AuditEntry, prev: str) -> tuple[str, str | None]:
    # The attacker keeps the key id the database shows: it is no secret, the key is.
    return entry_mac(AuditKey(secrets.token_bytes(32)), entry, prev), entry.key_id


def _unkeyed(entry: AuditEntry, prev: str) -> tuple[str, str | None]:
    return legacy_hash(entry, prev), None


def _truncate_to(last: int) -> Callable[[Engine], None]:
    """Drop every entry after `last` and point the head back at it, as if never written."""

    def change(engine: Engine) -> None:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM audit_entry WHERE seq > :last"), {"last": last})
            conn.execute(
                text(
                    "UPDATE audit_head SET seq = :last,"
                    " hash = (SELECT hash FROM audit_entry WHERE seq = :last)"
                ),
                {"last": last},
            )

    return change


def _renumber_after_removing(seq: int) -> Callable[[Engine], None]:
    """Drop entry `seq` and move every later one down a place, closing the gap."""

    def change(engine: Engine) -> None:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM audit_entry WHERE seq = :seq"), {"seq": seq})
            for n in range(seq + 1, LENGTH + 1):
                move = text("UPDATE audit_entry SET seq = :new WHERE seq = :old")
                conn.execute(move, {"new": n - 1, "old": n})

    return change


@dataclass(frozen=True)
class Tamper:
    change: Callable[[Engine], None]
    first_bad: int
    problem: str
    with_checkpoint: bool = False


TAMPERING = {
    "a changed action": Tamper(
        _sql("UPDATE audit_entry SET action = 'test.innocent' WHERE seq = 17"),
        17,
        "its MAC does not match its contents",
    ),
    "changed details": Tamper(
        _sql("""UPDATE audit_entry SET details = '{"n": 99}' WHERE seq = 2"""),
        2,
        "its MAC does not match its contents",
    ),
    "a cleared review flag": Tamper(
        _sql("UPDATE audit_entry SET flagged = NOT flagged WHERE seq = 4"),
        4,
        "its MAC does not match its contents",
    ),
    "a removed middle entry": Tamper(
        _sql("DELETE FROM audit_entry WHERE seq = 6"), 6, "entry is missing"
    ),
    "removed last entries": Tamper(
        _sql("DELETE FROM audit_entry WHERE seq >= 19"), 19, "entry is missing"
    ),
    "a removed entry with the later ones renumbered": Tamper(
        _renumber_after_removing(6), 6, "it does not follow the entry before it"
    ),
    "two swapped entries": Tamper(
        # Entries 4 and 5 trade places: each keeps its contents and MAC, under the other's seq.
        _sql(
            "UPDATE audit_entry SET seq = -4 WHERE seq = 4",
            "UPDATE audit_entry SET seq = 4 WHERE seq = 5",
            "UPDATE audit_entry SET seq = 5 WHERE seq = -4",
        ),
        4,
        "it does not follow the entry before it",
    ),
    "an entry rewritten and the chain rehashed under a guessed key": Tamper(
        _rehash_from(5, _guessed_key), 5, "its MAC does not match its contents"
    ),
    "an entry rewritten and the chain rehashed as unkeyed SHA-256": Tamper(
        _rehash_from(5, _unkeyed), 5, UNKEYED
    ),
    "the whole chain rehashed under a guessed key, checkpoint held": Tamper(
        _rehash_from(1, _guessed_key), 1, "its MAC does not match", with_checkpoint=True
    ),
    "a chain cut back to before a checkpoint, head reset": Tamper(
        _truncate_to(12), 13, f"the chain ends at 12, before checkpoint seq={ANCHORED}", True
    ),
}


@pytest.mark.parametrize("tamper", TAMPERING.values(), ids=TAMPERING.keys())
def test_tampering_by_someone_without_the_key_is_caught_at_the_first_bad_entry(
    tamper: Tamper, session: Session, engine: Engine
) -> None:
    entries = _append(session, LENGTH)
    anchored = Checkpoint(ANCHORED, entries[ANCHORED - 1].hash)
    tamper.change(engine)
    result = verify(session, checkpoints=[anchored] if tamper.with_checkpoint else [])
    assert (result.ok, result.first_bad_seq) == (False, tamper.first_bad), describe(result)
    assert tamper.problem in describe(result)


def test_a_chain_cut_back_with_its_head_needs_a_checkpoint_to_be_caught(
    session: Session, engine: Engine
) -> None:
    entries = _append(session, LENGTH)
    anchored = Checkpoint(ANCHORED, entries[ANCHORED - 1].hash)
    _truncate_to(12)(engine)
    assert describe(verify(session)) == "intact, 12 entries"
    assert describe(verify(session, checkpoints=[anchored])).startswith("broken at entry 13:")


def test_a_checkpoint_naming_another_mac_fails_at_its_entry(session: Session) -> None:
    _append(session, LENGTH)
    forged = Checkpoint(ANCHORED, "ab" * 32)
    result = verify(session, checkpoints=[forged])
    assert (result.ok, result.first_bad_seq) == (False, ANCHORED)
    assert f"checkpoint seq={ANCHORED} mac={'ab' * 32}" in describe(result)


def test_entries_chain_from_genesis_with_macs_under_the_audit_key(session: Session) -> None:
    entries = _append(session, 3)
    key = audit_key_for(session)
    assert [e.seq for e in entries] == [1, 2, 3]
    assert [e.prev_hash for e in entries] == [GENESIS, entries[0].hash, entries[1].hash]
    assert {e.key_id for e in entries} == {key.key_id}
    assert entries[0].hash == entry_mac(key, entries[0], GENESIS)
    assert entries[0].hash != legacy_hash(entries[0], GENESIS)


def test_verifying_under_another_key_names_the_key_not_tampering(session: Session) -> None:
    _append(session, 3)
    other = AuditKey(secrets.token_bytes(32))
    result = verify(session, key=other)
    assert (result.ok, result.first_bad_seq) == (False, 1)
    assert f"not the key in use ({other.key_id})" in describe(result)


def test_record_flushes_but_leaves_the_commit_to_the_caller(session: Session) -> None:
    record(session, actor="cli", action="test.rollback", now=T0)
    session.rollback()
    assert session.scalars(select(AuditEntry)).all() == []
    entry = record(session, actor="cli", action="test.kept", now=T0)
    session.commit()
    # Its lane has no gap; PostgreSQL's `seq` may skip the rolled-back number (a sequence).
    assert entry.lane_seq == 1
    assert describe(verify(session)) == "intact, 1 entries"


def test_an_untouched_log_verifies(session: Session) -> None:
    assert describe(verify(session)) == "intact, 0 entries"
    _append(session, 5)
    result = verify(session)
    assert (result.ok, result.count) == (True, 5)
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


def test_appending_after_a_truncation_does_not_hide_it(session: Session, engine: Engine) -> None:
    _append(session, 5)
    _sql("DELETE FROM audit_entry WHERE seq = 5")(engine)
    record(session, actor="cli", action="test.after", now=T0)
    session.commit()
    result = verify(session)
    assert (result.ok, result.first_bad_seq) == (False, 5)


def test_a_lost_head_continues_from_the_last_entry(session: Session, engine: Engine) -> None:
    _append(session, 3)
    _sql("DELETE FROM audit_head")(engine)
    entry = record(session, actor="cli", action="test.after", now=T0)
    session.commit()
    assert entry.seq == 4
    assert verify(session).ok
