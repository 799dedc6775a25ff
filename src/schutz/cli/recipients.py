"""`schutz recipients set|list`: where each processor named in the policy receives webhooks."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from sqlalchemy.orm import Session

from schutz.cli.webhooks import CLI_ACTOR, SecretFile, Url, print_endpoints, set_and_commit
from schutz.disclosures.endpoints import list_endpoints, set_endpoint
from schutz.policy.schema import Policy

app = typer.Typer(help="Processors' webhook endpoints (C2, C3).", no_args_is_help=True)


@app.callback()
def recipients() -> None:
    """Processors' webhook endpoints (C2, C3)."""


@app.command("set")
def set_recipient(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="A recipient the policy names, e.g. bank.")],
    url: Url,
    secret_file: SecretFile,
) -> None:
    """Point a processor at its webhook URL; only recipients in the policy are accepted."""

    def setter(session: Session, policy: Policy, now: datetime) -> None:
        set_endpoint(
            session, policy, name, url=url, secret_file=secret_file, actor=CLI_ACTOR, now=now
        )

    set_and_commit(ctx, setter)
    typer.echo(f"{name}: webhooks go to {url}")


@app.command("list")
def list_recipients(ctx: typer.Context) -> None:
    """Every recipient of the policy in force, with its endpoint or "not configured"."""

    def rows(session: Session, policy: Policy) -> list[tuple[str, str, str | None, bool]]:
        return [
            (v.recipient, ",".join(v.purposes), v.url, v.secret_ok)
            for v in list_endpoints(session, policy)
        ]

    print_endpoints(ctx, rows, (26, 18))
