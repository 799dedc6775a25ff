"""`schutz retention run [--dry-run]`: what would go and why (no personal data), then it goes."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session
from typer.testing import CliRunner

from records import take_order
from schutz.cli import retention
from schutz.cli.context import CliState
from schutz.clock import utcnow
from schutz.config import Settings
from schutz.policy.engine import Engine
from schutz.vault.keys import Keyring
from schutz.vault.models import Subject


def _run(settings: Settings, *args: str) -> tuple[int, str]:
    cli_state = CliState(data_dir=settings.data_dir)
    result = CliRunner().invoke(
        retention.app, ["run", *args], obj=cli_state,
        env={"SCHUTZ_DATABASE_URL": settings.resolved_database_url},
    )  # fmt: skip
    if "engine" in cli_state.__dict__:
        cli_state.engine.dispose()
    return result.exit_code, result.output


def test_a_dry_run_lists_ids_categories_and_rules_and_changes_nothing(
    session: Session, settings: Settings, rules: Engine, keyring: Keyring
) -> None:
    old = take_order(
        session, rules, keyring, {"email": "survey@example.org", "name": "Sven Survey"},
        source="survey", purposes=["market_research"], asserted_by="marketing",
        now=utcnow() - timedelta(days=400),
    ).subject_id  # fmt: skip
    fresh = take_order(session, rules, keyring, now=utcnow()).subject_id
    session.commit()

    code, out = _run(settings, "--dry-run")

    assert code == 0, out
    assert f"{old}  user.contact.email  delete  (market_research: P1Y after collection" in out
    assert fresh not in out
    assert "would expire 2 fields of 1 subjects" in out
    assert "dry run: nothing was changed" in out
    for personal in ("survey@example.org", "Sven"):
        assert personal not in out
    session.expire_all()
    assert session.get(Subject, old).erased_at is None  # type: ignore[union-attr]

    code, out = _run(settings)
    assert code == 0, out
    assert "expired 2 fields and narrowed 0" in out
    assert "erased 1 subjects left with nothing" in out
    session.expire_all()
    assert session.get(Subject, old).erased_at is not None  # type: ignore[union-attr]
    assert session.get(Subject, fresh).erased_at is None  # type: ignore[union-attr]
