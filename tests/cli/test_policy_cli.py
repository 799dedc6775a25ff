"""`schutz policy`: check, show, render and diff through the Typer sub-app."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from schutz.cli.policy import app
from schutz.config import BUNDLED_POLICY_DIR

runner = CliRunner()
REVISED = BUNDLED_POLICY_DIR / "gigaset-2026-11.yaml"


@pytest.fixture(autouse=True)
def _bundled_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SCHUTZ_POLICY", raising=False)


def test_check_passes_the_bundled_policies():
    result = runner.invoke(app, ["check"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines == [
        f"ok: {BUNDLED_POLICY_DIR / 'gigaset-2013-06.yaml'}: version 2013-06, 13 purposes",
        f"ok: {REVISED}: version 2026-11, 13 purposes",
    ]


def test_check_of_a_broken_file_prints_one_line_and_exits_1(tmp_path: Path):
    bad = tmp_path / "bad.yaml"
    text = REVISED.read_text(encoding="utf-8").replace(
        "  bank:\n    kind: processor", "  bank:\n    kind: sale"
    )
    bad.write_text(text, encoding="utf-8")
    line = text[: text.index("    kind: sale")].count("\n") + 1

    result = runner.invoke(app, ["check", str(bad)])

    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"{bad}:{line}: recipients.bank.kind: C7: personal data is never sold or marketed"
        " in any other way: a recipient of kind 'sale' cannot exist"
    ]
    assert "Traceback" not in result.output


def test_check_honours_the_configured_policy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SCHUTZ_POLICY", str(tmp_path / "missing.yaml"))
    result = runner.invoke(app, ["check"])
    assert result.exit_code == 1
    assert result.stderr.strip().endswith("missing.yaml: no such policy file or directory")


def test_show_summarises_the_policy_in_force():
    result = runner.invoke(app, ["show"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "version 2026-11" in result.stdout
    assert "freight_carrier" in result.stdout
    assert "schutz_vid" in result.stdout


@pytest.mark.parametrize(("lang", "title"), [("en", "# Privacy policy"), ("de", "# Datenschutz")])
def test_render_prints_markdown_in_the_language_asked(lang, title):
    result = runner.invoke(app, ["render", "--lang", lang, "--version", "2013-06"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(title)
    assert "__utma" in result.stdout


def test_render_refuses_an_unknown_language():
    result = runner.invoke(app, ["render", "--lang", "fr"])
    assert result.exit_code == 1
    assert "--lang must be en or de" in result.stderr


def test_diff_compares_versions_or_files():
    old = str(BUNDLED_POLICY_DIR / "gigaset-2013-06.yaml")
    result = runner.invoke(app, ["diff", old, "2026-11"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("2013-06 -> 2026-11")
    assert "~ analytics changed" in result.stdout


def test_diff_of_an_unknown_version_fails_cleanly():
    result = runner.invoke(app, ["diff", "2013-06", "1999-01"])
    assert result.exit_code == 1
    assert result.stderr.strip() == "error: no policy version '1999-01'"


def test_ropa_lists_every_purpose_with_its_recipients():
    result = runner.invoke(app, ["ropa", "--version", "2013-06"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("# Records of processing: Gigaset Communications GmbH")
    billing = next(line for line in result.stdout.splitlines() if "(`billing`)" in line)
    assert "Payment service providers, Banks" in billing
    analytics = next(line for line in result.stdout.splitlines() if "(`web_analytics`)" in line)
    assert "Google Inc." in analytics
