"""`schutz keys rotate` (resumable, with --limit as the interruption) and `schutz retention run`."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from records import NOW, many_customers
from schutz.cli import keys, retention
from schutz.cli.context import CliState
from schutz.config import BUNDLED_POLICY_DIR, Settings
from schutz.policy.loader import load_policy_set
from schutz.vault import service
from schutz.vault.keys import load_keyring
from schutz.vault.models import Subject, Tombstone

RULES = load_policy_set(BUNDLED_POLICY_DIR).engine("2026-11")


def _run(settings: Settings, app: object, *args: str) -> str:
    cli_state = CliState(data_dir=settings.data_dir)
    result = CliRunner().invoke(
        app,  # type: ignore[arg-type]
        list(args),
        obj=cli_state,
        env={"SCHUTZ_DATABASE_URL": settings.resolved_database_url},
    )
    if "engine" in cli_state.__dict__:  # built on first use; release its connections
        cli_state.engine.dispose()
    assert result.exit_code == 0, result.output
    return result.output


def _customers(session: Session, settings: Settings, n: int) -> list[str]:
    keyring = load_keyring(settings)
    return many_customers(session, RULES, keyring, n, email="k{i}@example.org", name="Kunde {i}")


def test_rotation_stopped_part_way_resumes_on_the_next_run(
    session: Session, settings: Settings
) -> None:
    ids = _customers(session, settings, 5)
    first_key = load_keyring(settings).active.key_id

    out = _run(settings, keys.app, "rotate", "--limit", "2", "--batch-size", "1")
    assert "5 data keys to re-wrap" in out
    assert "re-wrapped 2; 3 left" in out
    new_key = load_keyring(settings).active.key_id
    assert new_key != first_key

    out = _run(settings, keys.app, "rotate")
    assert f"resuming the rotation to key {new_key}: 3 left" in out
    assert f"every data key is under {new_key}" in out
    session.expire_all()
    assert set(session.scalars(select(Subject.master_key_id))) == {new_key}

    out = _run(settings, keys.app, "rotate", "--retire")
    assert "retired 2 old keys; the keyring holds 1" in out
    keyring = load_keyring(settings)
    for i, subject_id in enumerate(ids):
        found = service.find_subject(session, keyring, f"k{i}@example.org", actor="t", now=NOW)
        assert found == subject_id
        got = service.read_subject(
            session, RULES, keyring, subject_id, "order_processing", actor="t", role="shop", now=NOW
        )
        assert got.data["name"] == f"Kunde {i}"


def test_keys_status_reports_the_work_left(session: Session, settings: Settings) -> None:
    _customers(session, settings, 2)
    out = _run(settings, keys.app, "status")
    assert "data keys under an older key: 0" in out


def test_retention_run_erases_when_the_hold_has_lapsed(
    session: Session, settings: Settings
) -> None:
    (subject_id,) = _customers(session, settings, 1)
    then = datetime(2020, 3, 1, tzinfo=UTC)
    service.place_hold(
        session,
        RULES.policy,
        subject_id,
        "invoices",
        reference="order-7",
        event_date=date(2015, 6, 1),
        actor="test",
        now=then,
    )
    held = service.erase_subject(session, RULES.policy, subject_id, actor="dpo", now=then)
    session.commit()
    assert held.held_until == date(2024, 1, 1)

    out = _run(settings, retention.app, "run")
    assert "erased 1 subjects" in out
    session.expire_all()
    assert session.get(Tombstone, subject_id) is not None
