"""`schutz systems set|list`: where each of the operator's systems receives request events."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from schutz.cli.context import state
from schutz.clock import utcnow
from schutz.db import migrate
from schutz.errors import Denied
from schutz.policy.loader import load_policy_set
from schutz.systems.endpoints import list_systems, set_endpoint

CLI_ACTOR = "cli"

app = typer.Typer(help="The operator's systems: request events.", no_args_is_help=True)


@app.callback()
def systems() -> None:
    """The operator's systems (shop database, CRM, helpdesk): where request events go."""


@app.command("set")
def set_system(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="A system the policy names, e.g. shop_database.")],
    url: Annotated[str, typer.Option(help="Webhook URL (https; http only to localhost).")],
    secret_file: Annotated[
        Path, typer.Option("--secret-file", help="File (mode 0600) holding the signing secret.")
    ],
) -> None:
    """Point a system at its webhook URL; only systems in the policy are accepted."""
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
    typer.echo(f"{name}: request events go to {url}")


@app.command("list")
def list_all(ctx: typer.Context) -> None:
    """Every system of the policy in force, with its endpoint or "not configured"."""
    st = state(ctx)
    migrate(st.engine)
    policy = load_policy_set(st.settings.policy).in_force(utcnow().date())
    with st.sessions() as session:
        views = list_systems(session, policy)
    for view in views:
        where = "not configured" if view.url is None else view.url
        if view.url is not None and not view.secret_ok:
            where += "  (secret file unusable)"
        typer.echo(f"{view.system:<20} {','.join(view.categories):<40} {where}")
