"""`schutz recipients set|list`: where each processor named in the policy receives webhooks."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from schutz.cli.context import state
from schutz.clock import utcnow
from schutz.db import migrate
from schutz.disclosures.endpoints import list_endpoints, set_endpoint
from schutz.errors import Denied
from schutz.policy.loader import load_policy_set

CLI_ACTOR = "cli"

app = typer.Typer(help="Processors' webhook endpoints (C2, C3).", no_args_is_help=True)


@app.callback()
def recipients() -> None:
    """Processors' webhook endpoints (C2, C3)."""


@app.command("set")
def set_recipient(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="A recipient the policy names, e.g. bank.")],
    url: Annotated[str, typer.Option(help="Webhook URL (https; http only to localhost).")],
    secret_file: Annotated[
        Path, typer.Option("--secret-file", help="File (mode 0600) holding the signing secret.")
    ],
) -> None:
    """Point a processor at its webhook URL; only recipients in the policy are accepted."""
    st = state(ctx)
    migrate(st.engine)
    now = utcnow()
    policy = load_policy_set(st.settings.policy).in_force(now.date())
    with st.sessions() as session:
        try:
            set_endpoint(
                session, policy, name, url=url, secret_file=secret_file, actor=CLI_ACTOR, now=now
            )
        except Denied:
            session.commit()  # the refused attempt stays in the audit log
            raise
        session.commit()
    typer.echo(f"{name}: webhooks go to {url}")


@app.command("list")
def list_recipients(ctx: typer.Context) -> None:
    """Every recipient of the policy in force, with its endpoint or "not configured"."""
    st = state(ctx)
    migrate(st.engine)
    policy = load_policy_set(st.settings.policy).in_force(utcnow().date())
    with st.sessions() as session:
        views = list_endpoints(session, policy)
    for view in views:
        if view.url is None:
            where = "not configured"
        else:
            where = view.url + ("" if view.secret_ok else "  (secret file unusable)")
        typer.echo(f"{view.recipient:<26} {','.join(view.purposes):<18} {where}")
