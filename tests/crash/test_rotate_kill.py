"""`schutz keys rotate` killed with SIGKILL part-way resumes on the next run; nothing is lost.

3,000 subjects are stored through the vault; the rotation runs as its own process with small
batches and is SIGKILLed once some batches have committed and many are left. The rerun
finishes, every data key is under the new master key, and every field of every subject
still decrypts through the vault, found by its e-mail under the renewed blind index.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from records import NOW, many_customers
from schutz.config import BUNDLED_POLICY_DIR, Settings
from schutz.policy.loader import load_policy_set
from schutz.vault import service
from schutz.vault.keys import load_keyring
from schutz.vault.models import Subject

from .conftest import schutz_env

pytestmark = pytest.mark.slow

RULES = load_policy_set(BUNDLED_POLICY_DIR).engine("2026-11")
SUBJECTS = 3000
BATCH = 25


def _store_subjects(session: Session, settings: Settings) -> list[str]:
    keyring = load_keyring(settings)
    return many_customers(
        session, RULES, keyring, SUBJECTS, email="r{i}@example.org", name="Kundin {i}"
    )


def _rotate(settings: Settings) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "schutz", "keys", "rotate", "--batch-size", str(BATCH)],
        env=schutz_env(settings),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _under(session: Session, key_id: str) -> int:
    session.expire_all()
    count = session.scalar(
        select(func.count()).select_from(Subject).where(Subject.master_key_id == key_id)
    )
    session.rollback()  # end the read, so the rotation's writers never wait on us
    return int(count or 0)


def test_a_rotation_killed_midway_completes_on_the_rerun(
    session: Session, settings: Settings
) -> None:
    ids = _store_subjects(session, settings)
    old_key = load_keyring(settings).active.key_id

    first = _rotate(settings)
    try:
        assert first.stdout is not None
        started = first.stdout.readline()
        assert f"{SUBJECTS} data keys to re-wrap" in started, started
        new_key = load_keyring(settings).active.key_id
        assert new_key != old_key
        deadline = time.monotonic() + 30
        while _under(session, new_key) < 5 * BATCH and time.monotonic() < deadline:
            time.sleep(0.005)
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
        if first.stdout is not None:
            first.stdout.close()
    moved = _under(session, new_key)
    assert first.returncode == -signal.SIGKILL
    assert 0 < moved < SUBJECTS, f"not killed mid-rotation ({moved} of {SUBJECTS} moved)"
    assert moved % BATCH == 0, "a batch was half committed"

    rerun = subprocess.run(
        [sys.executable, "-m", "schutz", "keys", "rotate", "--batch-size", "500"],
        env=schutz_env(settings),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert f"resuming the rotation to key {new_key}: {SUBJECTS - moved} left" in rerun.stdout
    assert f"every data key is under {new_key}" in rerun.stdout
    assert _under(session, new_key) == SUBJECTS

    keyring = load_keyring(settings)
    for i, subject_id in enumerate(ids):
        if i % 100 == 0:  # the blind index was renewed under the new key
            assert (
                service.find_subject(session, keyring, f"r{i}@example.org", actor="t", now=NOW)
                == subject_id
            )
        got = service.read_subject(
            session, RULES, keyring, subject_id, "order_processing", actor="t", role="shop", now=NOW
        )
        assert got.data == {"email": f"r{i}@example.org", "name": f"Kundin {i}"}
    session.rollback()
