"""`schutz requests list` and `schutz requests expire`: the request queue on the server.

`expire` closes requests nobody confirmed within seven days; run it daily with
`schutz retention run` (cron or a systemd timer).
"""

from __future__ import annotations

from typing import Annotated

import typer

from schutz.cli.context import state
from schutz.clock import utcnow
from schutz.db import migrate
from schutz.subject_requests import service

app = typer.Typer(help="Data-subject requests and their deadlines.", no_args_is_help=True)


@app.callback()
def requests() -> None:
    """Data-subject requests and their deadlines."""


@app.command("list")
def list_command(
    ctx: typer.Context,
    status: Annotated[
        str | None,
        typer.Option(help="received, awaiting_verification, in_progress, completed, ..."),
    ] = None,
    kind: Annotated[str | None, typer.Option(help="access, erasure, ...")] = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="Only open ones past due.")] = False,
) -> None:
    """One line per request, the most urgent first: id, kind, channel, status, due date."""
    st = state(ctx)
    migrate(st.engine)
    now = utcnow()
    with st.sessions() as session:
        rows = service.list_requests(session, status=status, kind=kind, overdue=overdue, now=now)
        for r in rows:
            late = "  OVERDUE" if service.is_overdue(r, now) else ""
            typer.echo(
                f"{r.id}  {r.kind:<13} {r.channel:<6} {r.status:<21}"
                f" due {r.due_at.date().isoformat()}{late}"
            )
    typer.echo(f"{len(rows)} requests")


@app.command("expire")
def expire_command(ctx: typer.Context) -> None:
    """Expire the requests whose confirmation link was never opened."""
    st = state(ctx)
    migrate(st.engine)
    with st.sessions() as session, session.begin():
        expired = service.expire_unverified(session, actor="system:requests", now=utcnow())
    typer.echo(f"expired {len(expired)} unverified requests")
