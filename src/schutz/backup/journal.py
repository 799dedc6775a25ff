"""The restore journal: the decisions that must outlive a restore, in a file of the data dir.

Before a restore replaces the database, the decisions of the live database are merged into
`<data-dir>/restore-journal.json` (mode 0600, written atomically); after the snapshot is in
place they are re-applied (`reapply.py`). The file stays afterwards, and every `schutz
backup` brings it up to date, so that a restore still knows them when the database itself
is gone (a lost disk, a dropped schema) and only an older backup is left. It holds ids,
times, purposes and evidence references of the ledger, never an address or a name.
"""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import Engine

from schutz.backup.decisions import Decisions, from_json, gather, merge, to_json
from schutz.backup.errors import BackupError
from schutz.files import write_private

JOURNAL_NAME = "restore-journal.json"
LEGACY_NAME = "restore-erasures.json"
"""The erasure-only journal an interrupted restore of an earlier version may have left."""


def journal_path(data_dir: Path) -> Path:
    return data_dir / JOURNAL_NAME


def read_journal(path: Path) -> Decisions:
    """The decisions saved in `path`; none when there is no such file."""
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
        return from_json(body)
    except FileNotFoundError:
        return Decisions()
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise BackupError(
            f"the restore journal {path} is unreadable; the decisions in it must not be"
            " lost: repair or move it, then run the command again"
        ) from exc


def write_journal(path: Path, decisions: Decisions) -> None:
    """Save `decisions` atomically, mode 0600, synced to disk."""
    write_private(path, json.dumps(to_json(decisions), separators=(",", ":")))


def remember(data_dir: Path, engine: Engine) -> Decisions:
    """Merge the live database's decisions into the journal (and an earlier version's) and
    return them all."""
    path, legacy = journal_path(data_dir), data_dir / LEGACY_NAME
    decisions = merge(read_journal(path), read_journal(legacy), gather(engine))
    write_journal(path, decisions)
    legacy.unlink(missing_ok=True)
    return decisions
