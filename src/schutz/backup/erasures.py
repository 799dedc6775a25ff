"""Erasures outlive a restore: remember every tombstone before it, re-apply them after it.

A backup holds the subjects it held; restoring it would bring back everyone erased since it
was taken (Art. 17 GDPR). So before the database is replaced, its tombstones are read and
written to a journal in the data directory (ids and times only, nothing personal); after the
snapshot is in place each one the snapshot lacks is re-applied through the vault: a subject
the snapshot still has is crypto-shredded again, one it never knew gets its tombstone back.
The journal goes only once that has committed, so a restore that dies halfway is finished
by running it again.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine, inspect, select
from sqlalchemy.orm import Session

from schutz.backup.errors import BackupError
from schutz.policy.schema import Policy
from schutz.vault.erasure import erase_subject
from schutz.vault.models import Subject, Tombstone

JOURNAL_NAME = "restore-erasures.json"


@dataclass(frozen=True, slots=True)
class Erasure:
    subject_id: str
    erased_at: datetime


@dataclass(frozen=True, slots=True)
class Reapplied:
    """`shredded`: subjects the snapshot still held, erased again; `remembered`: tombstones
    put back for subjects with nothing left to shred; `held`: subjects a legal hold in the
    snapshot keeps restricted instead (finished by `schutz retention run`)."""

    shredded: int = 0
    remembered: int = 0
    held: int = 0


def journal_path(data_dir: Path) -> Path:
    return data_dir / JOURNAL_NAME


def recorded_erasures(engine: Engine) -> list[Erasure]:
    """Every tombstone of the database as it is now (none in a database without the table)."""
    if not inspect(engine).has_table(Tombstone.__tablename__):
        return []
    with Session(engine) as session:
        rows = session.execute(select(Tombstone.subject_id, Tombstone.erased_at)).all()
    return [Erasure(row.subject_id, row.erased_at) for row in rows]


def read_journal(path: Path) -> list[Erasure]:
    """The erasures an interrupted restore had saved; empty when there is no journal."""
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
        return [Erasure(str(i), datetime.fromisoformat(str(t))) for i, t in body["erasures"]]
    except FileNotFoundError:
        return []
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BackupError(
            f"the erasure journal {path} of an earlier restore is unreadable; it must not be"
            " lost: repair or move it, then restore again"
        ) from exc


def write_journal(path: Path, erasures: list[Erasure]) -> None:
    """Save the erasures atomically (mode 0600) before the database is replaced."""
    body = {"erasures": [[e.subject_id, e.erased_at.isoformat()] for e in erasures]}
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".restore-", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(body, out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def merge(*sources: list[Erasure]) -> list[Erasure]:
    """One erasure per subject, the earliest time kept."""
    merged: dict[str, Erasure] = {}
    for source in sources:
        for erasure in source:
            known = merged.get(erasure.subject_id)
            if known is None or erasure.erased_at < known.erased_at:
                merged[erasure.subject_id] = erasure
    return sorted(merged.values(), key=lambda e: (e.erased_at, e.subject_id))


def reapply(
    session: Session, policy: Policy, erasures: list[Erasure], *, actor: str, now: datetime
) -> Reapplied:
    """Erase again every subject of `erasures` the restored database does not know as erased."""
    kept = set(session.scalars(select(Tombstone.subject_id)))
    shredded = remembered = held = 0
    for erasure in erasures:
        if erasure.subject_id in kept:
            continue
        subject = session.get(Subject, erasure.subject_id)
        if subject is None or subject.erased_at is not None:
            session.add(Tombstone(subject_id=erasure.subject_id, erased_at=erasure.erased_at))
            remembered += 1
            continue
        result = erase_subject(session, policy, erasure.subject_id, actor=actor, now=now)
        if result.erased:
            shredded += 1
        else:
            held += 1
    session.flush()
    return Reapplied(shredded, remembered, held)
