"""`schutz requests list [--status] [--overdue]` and `schutz requests expire`."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session
from typer.testing import CliRunner

from schutz.cli import requests
from schutz.cli.context import CliState
from schutz.clock import utcnow
from schutz.config import BUNDLED_POLICY_DIR, Settings
from schutz.policy.loader import load_policy_set
from schutz.subject_requests import service
from schutz.subject_requests.models import DataRequest
from schutz.subject_requests.tokens import Links
from schutz.vault.keys import load_keyring

RULES = load_policy_set(BUNDLED_POLICY_DIR).engine("2026-11")


def _run(settings: Settings, *args: str) -> tuple[int, str]:
    cli_state = CliState(data_dir=settings.data_dir)
    result = CliRunner().invoke(
        requests.app,
        list(args),
        obj=cli_state,
        env={"SCHUTZ_DATABASE_URL": settings.resolved_database_url},
    )
    if "engine" in cli_state.__dict__:
        cli_state.engine.dispose()
    return result.exit_code, result.output


def _ask(session: Session, settings: Settings, kind: str, *, days_ago: int = 0) -> str:
    made = service.submit(
        session, RULES, load_keyring(settings), Links("http://127.0.0.1", b"secret"),
        kind=kind, email="someone@example.org", channel="post", actor="test",
        now=utcnow() - timedelta(days=days_ago),
    )  # fmt: skip
    session.commit()
    return made.request_id


def test_list_shows_overdue_requests_and_filters(session: Session, settings: Settings) -> None:
    old = _ask(session, settings, "access", days_ago=40)
    new = _ask(session, settings, "erasure")

    code, out = _run(settings, "list")
    assert code == 0
    assert f"{old}  access" in out
    assert "OVERDUE" in out.splitlines()[0]
    assert "2 requests" in out
    code, out = _run(settings, "list", "--overdue")
    assert old in out
    assert new not in out
    code, out = _run(settings, "list", "--status", "completed")
    assert "0 requests" in out


def test_an_unknown_status_is_one_clear_line(settings: Settings) -> None:
    code, _ = _run(settings, "list", "--status", "nonsense")
    assert code != 0


def test_expire_closes_unverified_requests(session: Session, settings: Settings) -> None:
    stale = _ask(session, settings, "access", days_ago=9)
    fresh = _ask(session, settings, "access")

    code, out = _run(settings, "expire")

    assert code == 0
    assert "expired 1 unverified requests" in out
    session.expire_all()
    assert session.get(DataRequest, stale).status == "expired"  # type: ignore[union-attr]
    assert session.get(DataRequest, fresh).status == "awaiting_verification"  # type: ignore[union-attr]
