"""`schutz systems set|list`: where each of the operator's systems receives request events."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from sqlalchemy.orm import Session

from schutz.cli.webhooks import CLI_ACTOR, SecretFile, Url, print_endpoints, set_and_commit
from schutz.policy.schema import Policy
from schutz.systems.endpoints import list_systems, set_endpoint

app = typer.Typer(help="The operator's systems: request events.", no_args_is_help=True)


@app.callback()
def systems() -> None:
    """The operator's systems (shop database, CRM, helpdesk): where request events go."""


@app.command("set")
def set_system(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="A system the policy names, e.g. shop_database.")],
    url: Url,
    secret_file: SecretFile,
) -> None:
    """Point a system at its webhook URL; only systems in the policy are accepted."""

    def setter(session: Session, policy: Policy, now: datetime) -> None:
        set_endpoint(
            session, policy, name, url=url, secret_file=secret_file, actor=CLI_ACTOR, now=now
        )

    set_and_commit(ctx, setter)
    typer.echo(f"{name}: request events go to {url}")


@app.command("list")
def list_all(ctx: typer.Context) -> None:
    """Every system of the policy in force, with its endpoint or "not configured"."""

    def rows(session: Session, policy: Policy) -> list[tuple[str, str, str | None, bool]]:
        return [
            (v.system, ",".join(v.categories), v.url, v.secret_ok)
            for v in list_systems(session, policy)
        ]

    print_endpoints(ctx, rows, (20, 40))
