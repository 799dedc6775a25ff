"""`schutz audit verify`: walk the hash chain and say whether anyone has tampered with it."""

from __future__ import annotations

import typer

from schutz.audit.service import describe, verify
from schutz.cli.context import state
from schutz.db import migrate

app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)


@app.callback()
def audit() -> None:
    """The tamper-evident audit log."""


@app.command("verify")
def verify_command(ctx: typer.Context) -> None:
    """Check every entry's hash and link; exit 1 naming the first bad entry."""
    st = state(ctx)
    migrate(st.engine)
    with st.sessions() as session:
        result = verify(session)
    typer.echo(describe(result))
    if not result.ok:
        raise typer.Exit(1)
