"""Only Schutz's own account can read what it keeps: a 0700 data directory of 0600 files, and
a key file that others could read is refused with one line instead of used.

Every process here runs with the common umask 022, under which a careless program leaves
its files readable by everyone on the machine.
"""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from live import free_port

LOOSE_UMASK = 0o022
CLI = "from schutz.cli.main import run; run()"

# An installation at work: the app (keys, database), one mail written as .eml; the modes of
# everything in the data directory are taken while the database is open (WAL and SHM exist).
WORKING = """
import json, os, sys
from pathlib import Path
from schutz.clock import utcnow
from schutz.config import Settings
from schutz.db import make_engine, migrate, transaction
from schutz.mail.service import enqueue_mail
from schutz.vault.keys import load_keyring
from schutz.web.app import create_app
from schutz.worker import run_once

settings = Settings()
engine = make_engine(settings.resolved_database_url)
migrate(engine)
engine.dispose()
app = create_app(settings)
with transaction(app.state.sessions) as s:
    enqueue_mail(s, to="perm@example.org", subject="S", body="B", idempotency_key="perm",
                 now=utcnow(), keyring=load_keyring(settings))
run_once(app.state.sessions, settings)
with app.state.engine.connect():
    root = settings.data_dir
    modes = {str(p.relative_to(root)): p.stat().st_mode for p in [root, *root.rglob("*")]}
print(json.dumps(modes))
"""


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCHUTZ_")}
    return {**env, "SCHUTZ_DATA_DIR": str(data_dir), **extra}


def _python(data_dir: Path, *argv: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *argv], env=_env(data_dir, **extra), capture_output=True, text=True,
        timeout=120, check=False, umask=LOOSE_UMASK,
    )  # fmt: skip


def _private(mode: int) -> bool:
    return mode & 0o077 == 0


def test_data_directory_is_0700_and_everything_in_it_0600_under_a_loose_umask(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    working = _python(data_dir, "-c", WORKING)
    assert working.returncode == 0, working.stderr
    modes: dict[str, int] = json.loads(working.stdout.strip().splitlines()[-1])
    backup = _python(data_dir, "-c", CLI, "backup")
    assert backup.returncode == 0, backup.stderr
    backup_file = Path(backup.stdout.strip().splitlines()[-1])

    expected = {"schutz.db", "schutz.db-wal", "schutz.db-shm", "master.key", "secret.key"}
    assert expected <= set(modes)
    assert any(name.startswith("outbox/") and name.endswith(".eml") for name in modes)
    for name, mode in modes.items():
        wanted = 0o700 if stat.S_ISDIR(mode) else 0o600
        assert stat.S_IMODE(mode) == wanted, (name, oct(mode))
    assert stat.S_IMODE(backup_file.stat().st_mode) == 0o600
    assert _private(backup_file.parent.stat().st_mode)


def test_an_existing_installation_open_to_others_is_narrowed_on_start(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o755)
    data_dir.chmod(0o755)
    database = data_dir / "schutz.db"
    sqlite3.connect(database).close()
    database.chmod(0o644)

    done = _python(data_dir, "-c", CLI, "init")
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE(database.stat().st_mode) == 0o600


def _refused(done: subprocess.CompletedProcess[str], path: Path) -> None:
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: ")
    assert f"chmod 600 {path}" in lines[0]


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604])
def test_a_master_key_readable_by_others_is_refused_with_one_line(
    tmp_path: Path, mode: int
) -> None:
    data_dir = tmp_path / "data"
    assert _python(data_dir, "-c", CLI, "init").returncode == 0
    assert _python(data_dir, "-c", CLI, "backup").returncode == 0  # creates master.key
    key = data_dir / "master.key"
    key.chmod(mode)

    _refused(_python(data_dir, "-c", CLI, "backup"), key)


def test_a_master_key_file_named_in_the_settings_is_checked_too(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    assert _python(data_dir, "-c", CLI, "init").returncode == 0
    assert _python(data_dir, "-c", CLI, "backup").returncode == 0
    elsewhere = tmp_path / "keys" / "schutz-master.key"
    elsewhere.parent.mkdir()
    (data_dir / "master.key").rename(elsewhere)
    elsewhere.chmod(0o644)

    done = _python(data_dir, "-c", CLI, "backup", SCHUTZ_MASTER_KEY_FILE=str(elsewhere))
    _refused(done, elsewhere)


def test_a_signing_secret_readable_by_others_is_refused_with_one_line(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o700)
    secret = data_dir / "secret.key"
    secret.write_text("0" * 64 + "\n")
    secret.chmod(0o644)

    done = _python(data_dir, "-c", CLI, "serve", "--port", str(free_port()))
    _refused(done, secret)
