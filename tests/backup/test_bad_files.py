"""A backup or restore given a bad path or a bad file says so in one line and changes nothing.

Run through the real console entry (a subprocess), so that "no traceback" is what a user
sees: missing files, directories, path traversal to a file that is not a backup, wrong
magic, a truncated or altered backup, a missing keyring, and outputs that would overwrite.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from schutz.config import Settings
from schutz.db import make_engine, migrate

from .helpers import run_schutz


@pytest.fixture
def installation(tmp_path: Path) -> Settings:
    """A migrated SQLite installation with a keyring; no PostgreSQL needed for file checks."""
    settings = Settings(data_dir=tmp_path / "data")
    engine = make_engine(settings.resolved_database_url)
    migrate(engine)
    engine.dispose()
    return settings


@pytest.fixture
def good_backup(installation: Settings, tmp_path: Path) -> Path:
    done = run_schutz(installation, "backup", "--output", str(tmp_path / "good.schutz-backup"))
    assert done.returncode == 0, done.stderr
    return Path(done.stdout.strip().splitlines()[-1])


def _state(settings: Settings) -> dict[str, str]:
    """Every file of the data dir with its SHA-256: "nothing changed" is this staying equal."""
    return {
        str(p.relative_to(settings.data_dir)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(settings.data_dir.rglob("*"))
        if p.is_file()
    }


def _assert_refused(done: object, needle: str) -> None:
    stderr: str = done.stderr  # type: ignore[attr-defined]
    assert done.returncode != 0  # type: ignore[attr-defined]
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ")
    assert needle in lines[0]
    assert not done.stdout.strip()  # type: ignore[attr-defined]


def _cut(path: Path, tmp: Path) -> Path:
    out = tmp / "cut.schutz-backup"
    out.write_bytes(path.read_bytes()[:-100])
    return out


def _flipped(path: Path, tmp: Path) -> Path:
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    out = tmp / "flipped.schutz-backup"
    out.write_bytes(bytes(raw))
    return out


def _header_changed(path: Path, tmp: Path) -> Path:
    out = tmp / "header.schutz-backup"
    out.write_bytes(path.read_bytes().replace(b'"created_at":"20', b'"created_at":"19', 1))
    return out


def _not_a_backup(_path: Path, tmp: Path) -> Path:
    out = tmp / "notes.txt"
    out.write_text("just some text\n")
    return out


def _header_only(path: Path, tmp: Path) -> Path:
    raw = path.read_bytes()
    out = tmp / "header-only.schutz-backup"
    out.write_bytes(raw[: raw.index(b"}") + 1])
    return out


BAD_FILES: list[tuple[str, Callable[[Path, Path], Path | str], str]] = [
    ("missing", lambda _p, t: t / "missing.schutz-backup", "no such file"),
    ("traversal", lambda _p, _t: "../" * 30 + "etc/passwd", "not a Schutz backup"),
    ("traversal-missing", lambda _p, _t: "../" * 30 + "nope/../x.backup", "no such file"),
    ("directory", lambda _p, t: t, "not a regular file"),
    ("wrong-magic", _not_a_backup, "not a Schutz backup"),
    ("truncated", _cut, "truncated"),
    ("header-only", _header_only, "truncated"),
    ("altered", _flipped, "damaged"),
    ("header-altered", _header_changed, "damaged"),
]


@pytest.mark.parametrize(("case", "make", "needle"), BAD_FILES, ids=[c[0] for c in BAD_FILES])
def test_restore_refuses_a_bad_file_in_one_line_and_changes_nothing(
    installation: Settings,
    good_backup: Path,
    tmp_path: Path,
    case: str,
    make: Callable[[Path, Path], Path | str],
    needle: str,
) -> None:
    before = _state(installation)
    done = run_schutz(installation, "restore", str(make(good_backup, tmp_path)))
    _assert_refused(done, needle)
    assert _state(installation) == before


def test_restore_without_the_keyring_says_how_to_get_it_and_creates_no_key(
    installation: Settings, good_backup: Path, tmp_path: Path
) -> None:
    elsewhere = Settings(data_dir=tmp_path / "elsewhere")
    done = run_schutz(elsewhere, "restore", str(good_backup))
    _assert_refused(done, "no master key file")
    assert not (elsewhere.data_dir / "master.key").exists()


def test_restore_with_another_keyring_names_the_missing_key(
    installation: Settings, good_backup: Path, tmp_path: Path
) -> None:
    elsewhere = Settings(data_dir=tmp_path / "elsewhere")
    engine = make_engine(elsewhere.resolved_database_url)
    migrate(engine)
    engine.dispose()
    assert run_schutz(elsewhere, "backup").returncode == 0  # makes its own, different key
    before = _state(elsewhere)
    done = run_schutz(elsewhere, "restore", str(good_backup))
    _assert_refused(done, "is not in the keyring")
    assert _state(elsewhere) == before


@pytest.mark.parametrize(
    ("case", "target", "needle"),
    [
        ("existing-file", lambda d: d / "schutz.db", "never overwrites"),
        ("directory", lambda d: d, "never overwrites"),
        ("missing-dir", lambda d: d / "no" / "such" / "dir" / "x.backup", "does not exist"),
    ],
    ids=["existing-file", "directory", "missing-dir"],
)
def test_backup_refuses_an_output_it_would_overwrite_or_cannot_place(
    installation: Settings, case: str, target: Callable[[Path], Path], needle: str
) -> None:
    before = _state(installation)
    done = run_schutz(installation, "backup", "--output", str(target(installation.data_dir)))
    _assert_refused(done, needle)
    assert _state(installation) == before


def test_a_backup_restores_into_a_copy_of_the_installation(
    installation: Settings, good_backup: Path, tmp_path: Path
) -> None:
    """The keyring file is all a second machine needs besides the backup."""
    other = Settings(data_dir=tmp_path / "restored")
    other.data_dir.mkdir()
    shutil.copy(installation.data_dir / "master.key", other.data_dir / "master.key")
    done = run_schutz(other, "restore", str(good_backup))
    assert done.returncode == 0, done.stderr
    assert (other.data_dir / "schutz.db").is_file()


@pytest.mark.parametrize("command", ["backup", "restore"])
def test_an_unreadable_restore_journal_stops_backup_and_restore_and_is_kept(
    installation: Settings, good_backup: Path, command: str
) -> None:
    """The journal holds decisions a restore must not forget: never overwrite what we
    cannot read."""
    journal = installation.data_dir / "restore-journal.json"
    journal.write_text('{"version": 2, "revocations": [', encoding="utf-8")
    before = _state(installation)
    args = [str(good_backup)] if command == "restore" else []
    done = run_schutz(installation, command, *args)
    _assert_refused(done, "restore journal")
    assert _state(installation) == before
