"""`schutz backup [--output FILE]` and `schutz restore FILE`: encrypted snapshots, safe restores.

The backup's path is the last line printed, so scripts can take it with `tail -n 1`. The
progress bar goes to standard error. See docs/backup.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)

from schutz.backup.service import create_backup, restore_backup
from schutz.cli.context import state
from schutz.clock import utcnow

ACTOR = "cli"
_LABELS = {"snapshot": "snapshot", "encrypt": "encrypting", "decrypt": "decrypting"}


class _Bars:
    """One Rich task per phase; pages and tables count up, bytes show as sizes."""

    def __init__(self) -> None:
        self.progress = Progress(
            TextColumn("{task.description:<11}"),
            BarColumn(),
            MofNCompleteColumn(),
            DownloadColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self.tasks: dict[str, TaskID] = {}

    def __call__(self, phase: str, done: int, total: int | None) -> None:
        task = self.tasks.get(phase)
        if task is None:
            task = self.progress.add_task(_LABELS.get(phase, phase), total=total)
            self.tasks[phase] = task
        self.progress.update(task, completed=done, total=total)


def backup(
    ctx: typer.Context,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="File to write (must not exist); default data-dir/backups/."
        ),
    ] = None,
) -> None:
    """Write a consistent, encrypted snapshot of the database; prints its path last."""
    st = state(ctx)
    bars = _Bars()
    with bars.progress:
        result = create_backup(st.settings, st.engine, output, now=utcnow(), progress=bars)
    st.engine.dispose()
    header = result.header
    typer.echo(
        f"backup of the {header.backend} database, {result.size} bytes, sealed with master"
        f" key {header.key_id}; keep the keyring apart from it"
    )
    typer.echo(str(result.path.resolve()))


def restore(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A file written by `schutz backup`.")],
) -> None:
    """Replace the database with a backup, then re-apply what was decided since.

    Revoked API keys, disabled staff, objections, withdrawals, unsubscribes and erasures
    the backup does not contain are applied again (see docs/backup.md).

    Stop `schutz serve` and the workers first.
    """
    st = state(ctx)
    bars = _Bars()
    with bars.progress:
        result = restore_backup(
            st.settings, st.engine, file, actor=ACTOR, now=utcnow(), progress=bars
        )
    done = result.reapplied
    typer.echo(f"restored the backup of {result.header.created_at.isoformat()}")
    typer.echo(
        f"erasures re-applied: {done.shredded} shredded again, {done.remembered} tombstones"
        " put back"
    )
    typer.echo(
        f"decisions re-applied: {done.revocations} API keys revoked, {done.disablements}"
        f" staff users disabled, {done.objections} objections, {done.withdrawals}"
        f" withdrawals, {done.unsubscribes} unsubscribes"
    )
    if done.unknown_purpose:
        typer.echo(
            f"{done.unknown_purpose} withdrawals or objections concern purposes the policy"
            " in force no longer has; they change nothing now and stay in the journal"
        )
    if done.held:
        typer.echo(
            f"{done.held} erased subjects are only restricted: a legal hold in the backup"
            " still runs; `schutz retention run` finishes them when it lapses"
        )


def register(app: typer.Typer) -> None:
    app.command()(backup)
    app.command()(restore)
