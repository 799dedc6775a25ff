"""`schutz breach record | list | show | reported | notify-subjects`."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy.orm import Session
from typer.testing import CliRunner

from records import take_order
from schutz.cli import breach
from schutz.cli.context import CliState
from schutz.clock import utcnow
from schutz.config import Settings
from schutz.policy.engine import Engine
from schutz.vault.keys import Keyring


def _run(settings: Settings, *args: str) -> tuple[int, str]:
    cli_state = CliState(data_dir=settings.data_dir)
    result = CliRunner().invoke(
        breach.app,
        list(args),
        obj=cli_state,
        env={"SCHUTZ_DATABASE_URL": settings.resolved_database_url},
    )
    if "engine" in cli_state.__dict__:
        cli_state.engine.dispose()
    return result.exit_code, result.output


def test_a_breach_goes_from_record_to_report_and_mail(
    session: Session, settings: Settings, rules: Engine, keyring: Keyring
) -> None:
    take_order(session, rules, keyring, now=utcnow() - timedelta(days=5))
    session.commit()
    aware = (utcnow() - timedelta(hours=80)).isoformat(timespec="seconds")

    code, out = _run(
        settings, "record", "--title", "Lost laptop", "--nature", "An unencrypted laptop.",
        "--categories", "user.contact.email,user.name", "--risk", "high",
        "--consequences", "Phishing.", "--measures", "Remote wipe.", "--aware-at", aware,
    )  # fmt: skip
    assert code == 0, out
    found = re.search(r"recorded breach ([0-9a-f]{32})", out)
    assert found
    breach_id = found.group(1)
    assert "affected: 1 subjects, 2 fields" in out

    code, out = _run(settings, "list")
    assert "OVERDUE" in out
    assert "1 breaches" in out

    code, out = _run(settings, "show", breach_id, "--lang", "de")
    assert "Ungefähre Zahl der betroffenen Personen: 1" in out
    assert "Ada" not in out

    code, out = _run(settings, "reported", breach_id)
    assert code == 1
    code, out = _run(settings, "reported", breach_id, "--delay-reason", "Weekend.")
    assert code == 0, out

    code, out = _run(settings, "notify-subjects", breach_id)
    assert code == 0, out
    assert "queued 1 mails" in out
    code, out = _run(settings, "notify-subjects", breach_id)
    assert "queued 0 mails" in out
    assert "1 subjects had been told before" in out


def test_an_unknown_category_is_refused(settings: Settings) -> None:
    code, _ = _run(
        settings, "record", "--title", "x", "--nature", "x", "--categories", "user.dna",
        "--risk", "high", "--consequences", "x", "--measures", "x",
    )  # fmt: skip
    assert code == 1
