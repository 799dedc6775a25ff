"""A restore forgets nothing decided after the snapshot (design invariant 5).

For each kind of decision: the thing exists -> backup -> the decision is taken -> the old
backup is restored with the real `schutz restore` -> the decision still holds, with its
original time, and the audit chain verifies. Restoring twice keeps each decision once; a
decision the backup already holds is not applied again. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import stat
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from schutz.audit.service import verify
from schutz.backup.journal import journal_path
from schutz.config import Settings
from schutz.consent.models import ConsentEvent
from schutz.consent.service import ConsentState, current_state, record_consent
from schutz.errors import NotFound, Unauthenticated
from schutz.identity import service as identity
from schutz.identity.models import ApiKey, StaffUser
from schutz.models import metadata
from schutz.newsletter import service as newsletter
from schutz.vault import service as vault
from schutz.vault.keys import load_keyring
from schutz.vault.models import Subject, Tombstone

from .helpers import NOW, RULES, add_customer, backup_to, invoke, restore

LATER = NOW + timedelta(days=3)
PASSWORD = "correct horse battery staple"
LINKS = newsletter.Links("http://127.0.0.1", b"newsletter secret")


@dataclass(frozen=True)
class Case:
    """`prepare` runs before the backup and returns what `decide` (after it) and `holds`
    (after the restore) need; `reported` is the restore's count for this decision."""

    prepare: Callable[[Session, Settings], str]
    decide: Callable[[Session, Settings, str, Path], None]
    holds: Callable[[Session, Settings, str], None]
    reported: str
    count: Callable[[Session, str], int]


def _key(session: Session, _settings: Settings) -> str:
    _, plaintext = identity.create_api_key(session, name="shop-1", role="shop", actor="t", now=NOW)
    return plaintext


def _revoke(session: Session, _settings: Settings, _plaintext: str, _tmp: Path) -> None:
    identity.revoke_api_key(session, name="shop-1", actor="t", now=LATER)


def _key_revoked(session: Session, _settings: Settings, plaintext: str) -> None:
    with pytest.raises(Unauthenticated):
        identity.authenticate_api_key(session, plaintext)
    key = session.scalars(select(ApiKey)).one()
    assert key.revoked_at == LATER


def _staff(session: Session, _settings: Settings) -> str:
    identity.add_staff(
        session, email="mia@shop.example", role="support", password=PASSWORD, actor="t", now=NOW
    )
    return "mia@shop.example"


def _disable(session: Session, settings: Settings, email: str, _tmp: Path) -> None:
    session.close()
    result = invoke(settings, "staff", "disable", "--email", email)
    assert result.exit_code == 0, result.output
    assert "@" not in result.output


def _staff_disabled(session: Session, _settings: Settings, email: str) -> None:
    with pytest.raises(Unauthenticated):
        identity.authenticate_staff(session, email, PASSWORD, NOW + timedelta(days=4))
    session.rollback()
    assert session.scalars(select(StaffUser.disabled_at)).one() is not None


def _customer(session: Session, settings: Settings) -> str:
    return add_customer(session, settings, "ada@example.org", "Ada Lovelace")


def _consenting(purpose: str) -> Callable[[Session, Settings], str]:
    """A customer who agreed to `purpose` before the backup."""

    def prepare(session: Session, settings: Settings) -> str:
        subject_id = _customer(session, settings)
        _say("grant", purpose, f"form-{purpose}", NOW)(session, settings, subject_id, Path())
        return subject_id

    return prepare


def _say(
    action: str, purpose: str, evidence: str, at: datetime = LATER
) -> Callable[[Session, Settings, str, Path], None]:
    def decide(session: Session, _settings: Settings, subject_id: str, _tmp: Path) -> None:
        record_consent(
            session,
            RULES.policy,
            subject_id=subject_id,
            purpose=purpose,
            action=action,
            channel="post",
            evidence=evidence,
            actor="staff:dpo",
            now=at,
        )

    return decide


def _said(
    purpose: str, state: ConsentState, evidence: str
) -> Callable[[Session, Settings, str], None]:
    def holds(session: Session, _settings: Settings, subject_id: str) -> None:
        assert current_state(session, RULES.policy, subject_id)[purpose] is state
        event = session.scalars(select(ConsentEvent).where(ConsentEvent.evidence == evidence)).one()
        assert (event.at, event.channel, event.subject_id) == (LATER, "post", subject_id)

    return holds


def _events(evidence: str) -> Callable[[Session, str], int]:
    def count(session: Session, _ctx: str) -> int:
        query = select(func.count()).where(ConsentEvent.evidence == evidence)
        return int(session.scalar(query) or 0)

    return count


def _subscriber(session: Session, settings: Settings) -> str:
    subject_id = _customer(session, settings)
    for action in ("grant", "confirm"):
        record_consent(
            session,
            RULES.policy,
            subject_id=subject_id,
            purpose="newsletter",
            action=action,
            channel="web",
            wording="Send me the newsletter.",
            actor="subject",
            now=NOW,
        )
    session.commit()
    return subject_id


def _unsubscribe(session: Session, _settings: Settings, subject_id: str, _tmp: Path) -> None:
    done = newsletter.unsubscribe(
        session,
        RULES.policy,
        LINKS,
        token=newsletter.unsubscribe_token(LINKS, subject_id),
        how="one-click",
        ip="203.0.113.77",
        user_agent="Mail client",
        actor="subject",
        now=LATER,
    )
    assert done


def _unsubscribed(session: Session, _settings: Settings, subject_id: str) -> None:
    assert current_state(session, RULES.policy, subject_id)["newsletter"] is ConsentState.WITHDRAWN
    event = session.scalars(select(ConsentEvent).where(ConsentEvent.action == "withdraw")).one()
    assert event.at == LATER
    assert (event.evidence or "").startswith("unsubscribe:one-click; token:")
    assert event.ip_truncated == "203.0.113.0"


def _unsubscribes(session: Session, _ctx: str) -> int:
    return int(session.scalar(select(func.count()).where(ConsentEvent.action == "withdraw")) or 0)


def _erase(session: Session, _settings: Settings, subject_id: str, _tmp: Path) -> None:
    vault.erase_subject(session, RULES.policy, subject_id, actor="dpo", now=LATER)


def _erased(session: Session, settings: Settings, subject_id: str) -> None:
    with pytest.raises(NotFound):
        vault.find_subject(session, load_keyring(settings), "ada@example.org", actor="t", now=NOW)
    subject = session.get(Subject, subject_id)
    assert subject is not None
    assert subject.wrapped_key is None
    assert session.get(Tombstone, subject_id) is not None


def _tombstones(session: Session, _ctx: str) -> int:
    return int(session.scalar(select(func.count()).select_from(Tombstone)) or 0)


def _revoked_keys(session: Session, _ctx: str) -> int:
    return int(session.scalar(select(func.count()).where(ApiKey.revoked_at.is_not(None))) or 0)


def _disabled_staff(session: Session, _ctx: str) -> int:
    query = select(func.count()).where(StaffUser.disabled_at.is_not(None))
    return int(session.scalar(query) or 0)


CASES = {
    "key_revocation": Case(_key, _revoke, _key_revoked, "1 API keys revoked", _revoked_keys),
    "staff_disablement": Case(
        _staff, _disable, _staff_disabled, "1 staff users disabled", _disabled_staff
    ),
    "objection": Case(
        _consenting("direct_marketing"),
        _say("object", "direct_marketing", "letter-17"),
        _said("direct_marketing", ConsentState.OBJECTED, "letter-17"),
        "1 objections",
        _events("letter-17"),
    ),
    "withdrawal": Case(
        _consenting("market_research"),
        _say("withdraw", "market_research", "fax-4"),
        _said("market_research", ConsentState.WITHDRAWN, "fax-4"),
        "1 withdrawals",
        _events("fax-4"),
    ),
    "unsubscribe": Case(_subscriber, _unsubscribe, _unsubscribed, "1 unsubscribes", _unsubscribes),
    "erasure": Case(_customer, _erase, _erased, "1 shredded again", _tombstones),
}


def _take_decision_after_backup(
    case: Case, session: Session, settings: Settings, tmp_path: Path
) -> tuple[str, Path]:
    ctx = case.prepare(session, settings)
    session.commit()
    session.close()
    snapshot = backup_to(settings, tmp_path / "before.schutz-backup")
    case.decide(session, settings, ctx, tmp_path)
    session.commit()
    session.close()
    return ctx, snapshot


def _restore_keeps(name: str, session: Session, settings: Settings, tmp_path: Path) -> None:
    case = CASES[name]
    ctx, snapshot = _take_decision_after_backup(case, session, settings, tmp_path)
    out = restore(settings, snapshot)
    assert case.reported in out
    assert "@" not in out
    case.holds(session, settings, ctx)
    assert verify(session).ok
    session.commit()


def test_restore_keeps_later_key_revocation(
    session: Session, settings: Settings, tmp_path: Path
) -> None:
    _restore_keeps("key_revocation", session, settings, tmp_path)


def test_restore_keeps_later_staff_disablement(
    session: Session, settings: Settings, tmp_path: Path
) -> None:
    _restore_keeps("staff_disablement", session, settings, tmp_path)


def test_restore_keeps_later_objection(
    session: Session, settings: Settings, tmp_path: Path
) -> None:
    _restore_keeps("objection", session, settings, tmp_path)


def test_restore_keeps_later_withdrawal(
    session: Session, settings: Settings, tmp_path: Path
) -> None:
    _restore_keeps("withdrawal", session, settings, tmp_path)


def test_restore_keeps_later_unsubscribe(
    session: Session, settings: Settings, tmp_path: Path
) -> None:
    _restore_keeps("unsubscribe", session, settings, tmp_path)


def test_restore_keeps_later_erasure(session: Session, settings: Settings, tmp_path: Path) -> None:
    _restore_keeps("erasure", session, settings, tmp_path)


@pytest.mark.parametrize("name", list(CASES))
def test_restoring_twice_keeps_each_decision_once(
    name: str, session: Session, settings: Settings, tmp_path: Path
) -> None:
    case = CASES[name]
    ctx, snapshot = _take_decision_after_backup(case, session, settings, tmp_path)
    for _ in range(2):
        assert case.reported in restore(settings, snapshot)
    case.holds(session, settings, ctx)
    assert case.count(session, ctx) == 1
    assert verify(session).ok
    session.commit()


@pytest.mark.parametrize("name", list(CASES))
def test_restore_leaves_a_decision_the_backup_holds_as_it_is(
    name: str, session: Session, settings: Settings, tmp_path: Path
) -> None:
    case = CASES[name]
    ctx = case.prepare(session, settings)
    session.commit()
    session.close()
    case.decide(session, settings, ctx, tmp_path)
    session.commit()
    session.close()
    snapshot = backup_to(settings, tmp_path / "after.schutz-backup")
    out = restore(settings, snapshot)
    assert case.reported not in out
    case.holds(session, settings, ctx)
    assert case.count(session, ctx) == 1
    session.commit()


def test_restore_into_a_lost_database_keeps_what_the_journal_remembers(
    session: Session, settings: Settings, tmp_path: Path
) -> None:
    """The newest backup refreshed the journal; the database and that backup are lost; the
    older backup restored into an empty database still gets the objection back."""
    ada = _customer(session, settings)
    older = backup_to(settings, tmp_path / "older.schutz-backup")
    _say("object", "direct_marketing", "letter-17")(session, settings, ada, tmp_path)
    session.commit()
    session.close()
    backup_to(settings, tmp_path / "newer.schutz-backup").unlink()
    journal = journal_path(settings.data_dir)
    assert stat.S_IMODE(journal.stat().st_mode) == 0o600
    assert b"ada@example.org" not in journal.read_bytes()
    bind = session.get_bind()
    assert isinstance(bind, Engine)
    with bind.begin() as conn:
        metadata.drop_all(conn)
    session.close()

    assert "1 objections" in restore(settings, older)
    _said("direct_marketing", ConsentState.OBJECTED, "letter-17")(session, settings, ada)
    assert verify(session).ok
    session.commit()
