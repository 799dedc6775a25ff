"""`schutz keys rotate` / `schutz keys status`: renew the master key without downtime.

A rotation appends a new master key to the keyring and re-wraps every subject's data key
under it in batches, one transaction each, with a progress bar. Interrupted (Ctrl+C, a
crash, `--limit`), it resumes on the next run: the subjects still under an older key are
exactly what is left. Retired keys stay in the keyring until `--retire`, because backups
taken before the rotation need them.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from sqlalchemy.orm import Session, sessionmaker

from schutz.cli.context import state
from schutz.clock import utcnow
from schutz.db import migrate
from schutz.vault.keys import (
    Keyring,
    add_master_key,
    keyring_path,
    load_keyring,
    retire_master_keys,
)
from schutz.vault.rotation import keys_in_use, pending_rewraps, rewrap_keys

app = typer.Typer(help="The master key that wraps every subject's data key.", no_args_is_help=True)
ACTOR = "cli"


@app.callback()
def keys() -> None:
    """The master key that wraps every subject's data key."""


@app.command("status")
def status_command(ctx: typer.Context) -> None:
    """Show the active master key and how many data keys still wait for a re-wrap."""
    st = state(ctx)
    migrate(st.engine)
    keyring = load_keyring(st.settings)
    with st.sessions() as session:
        pending = pending_rewraps(session, keyring)
    typer.echo(f"keyring: {keyring_path(st.settings)} ({len(keyring.keys)} keys)")
    typer.echo(f"active key: {keyring.active.key_id}")
    typer.echo(f"data keys under an older key: {pending}")


def _rewrap_all(
    sessions: sessionmaker[Session], keyring: Keyring, total: int, batch_size: int
) -> int:
    """Re-wrap up to `total` data keys, one committed batch at a time, with a progress bar."""
    done = 0
    progress = Progress(
        TextColumn("re-wrapping"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    with progress:
        task = progress.add_task("rewrap", total=total)
        while done < total:
            with sessions() as session, session.begin():
                n = rewrap_keys(
                    session,
                    keyring,
                    batch_size=min(batch_size, total - done),
                    actor=ACTOR,
                    now=utcnow(),
                )
            if n == 0:
                break
            done += n
            progress.advance(task, n)
    return done


@app.command("rotate")
def rotate_command(
    ctx: typer.Context,
    batch_size: Annotated[int, typer.Option(min=1, help="Subjects per transaction.")] = 500,
    limit: Annotated[
        int | None, typer.Option(min=1, help="Stop after this many re-wraps (resume later).")
    ] = None,
    retire: Annotated[
        bool,
        typer.Option(help="When done, drop old keys from the keyring (old backups need them)."),
    ] = False,
) -> None:
    """Re-wrap every data key under a new master key; resumes an interrupted rotation."""
    st = state(ctx)
    migrate(st.engine)
    keyring = load_keyring(st.settings)
    with st.sessions() as session:
        pending = pending_rewraps(session, keyring)
    if pending:
        typer.echo(f"resuming the rotation to key {keyring.active.key_id}: {pending} left")
    else:
        keyring = add_master_key(st.settings)
        with st.sessions() as session:
            pending = pending_rewraps(session, keyring)
        typer.echo(f"new master key {keyring.active.key_id}: {pending} data keys to re-wrap")
    total = pending if limit is None else min(pending, limit)
    done = _rewrap_all(st.sessions, keyring, total, batch_size)
    with st.sessions() as session:
        left = pending_rewraps(session, keyring)
        in_use = keys_in_use(session)
    if left:
        typer.echo(f"re-wrapped {done}; {left} left: run `schutz keys rotate` again to resume")
        return
    typer.echo(f"re-wrapped {done}; every data key is under {keyring.active.key_id}")
    if retire:
        unused = {k.key_id for k in keyring.keys} - in_use - {keyring.active.key_id}
        keyring = retire_master_keys(st.settings, unused)
        typer.echo(f"retired {len(unused)} old keys; the keyring holds {len(keyring.keys)}")
