"""`schutz audit verify | checkpoint | rekey`: check the MAC chain, anchor its head, upgrade it.

`checkpoint` prints one line, `seq=N mac=HEX`, to keep somewhere the database's users cannot
write (a ticket, a log host, a notebook); `verify --checkpoint N:HEX` then proves the chain
still holds that entry, so cutting entries off the end is caught too. See docs/security.md.
"""

from __future__ import annotations

from typing import Annotated

import typer

from schutz.audit.rekey import Rekeyed, rekey
from schutz.audit.verify import Checkpoint, describe, head_checkpoint, verify
from schutz.cli.context import state
from schutz.clock import utcnow
from schutz.db import migrate

app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)
ACTOR = "cli"


@app.callback()
def audit() -> None:
    """The tamper-evident audit log."""


def _checkpoint(text: str) -> Checkpoint:
    try:
        return Checkpoint.parse(text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


@app.command("verify")
def verify_command(
    ctx: typer.Context,
    checkpoints: Annotated[
        list[str] | None,
        typer.Option(
            "--checkpoint",
            metavar="SEQ:MAC",
            help="A head printed earlier by `schutz audit checkpoint`; repeatable.",
        ),
    ] = None,
) -> None:
    """Check every entry's MAC and link; exit 1 naming the first bad entry."""
    points = [_checkpoint(text) for text in checkpoints or []]
    st = state(ctx)
    migrate(st.engine)
    with st.sessions() as session:
        result = verify(session, checkpoints=points)
    typer.echo(describe(result))
    if not result.ok:
        raise typer.Exit(1)


@app.command("checkpoint")
def checkpoint_command(ctx: typer.Context) -> None:
    """Print the head as `seq=N mac=HEX`, to keep outside the database."""
    st = state(ctx)
    migrate(st.engine)
    with st.sessions() as session:
        found = head_checkpoint(session)
    if not isinstance(found, Checkpoint):
        typer.echo(describe(found))
        raise typer.Exit(1)
    typer.echo(str(found))


@app.command("rekey")
def rekey_command(ctx: typer.Context) -> None:
    """MAC the entries written before the chain was keyed (once, after upgrading)."""
    st = state(ctx)
    migrate(st.engine)
    with st.sessions() as session:
        result = rekey(session, actor=ACTOR, now=utcnow())
        if not isinstance(result, Rekeyed):
            session.rollback()
            typer.echo(f"not rekeyed, the chain is {describe(result)}")
            raise typer.Exit(1)
        session.commit()
    if result.count:
        typer.echo(f"rekeyed {result.count} entries")
    else:
        typer.echo("nothing to rekey: every entry carries a MAC under the audit key")
