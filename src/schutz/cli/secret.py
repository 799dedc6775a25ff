"""`schutz secret rotate` / `schutz secret status`: the secret that signs mailed links.

A rotation makes a new signing secret at once; the old one still verifies links mailed
before, until its grace period ends. Running servers re-read secret.key when it changes.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer

from schutz.cli.context import state
from schutz.clock import utcnow
from schutz.identity.signing_secrets import load_or_create, rotate, secret_path

app = typer.Typer(help="The secret that signs links in mails and forms.", no_args_is_help=True)


@app.callback()
def secret() -> None:
    """The secret that signs links in mails and forms."""


@app.command("status")
def status_command(ctx: typer.Context) -> None:
    """Show how many secrets verify links now and when the retired ones stop (no secrets)."""
    data_dir = state(ctx).settings.data_dir
    now = utcnow()
    signing = load_or_create(data_dir)
    typer.echo(f"secret file: {secret_path(data_dir)}")
    for retired in sorted(signing.retired, key=lambda r: r.retires_at):
        verb = "verifies until" if now < retired.retires_at else "stopped at"
        typer.echo(f"retired secret {verb} {retired.retires_at.isoformat(timespec='seconds')}")
    typer.echo("current secret signs new links")


@app.command("rotate")
def rotate_command(
    ctx: typer.Context,
    grace_days: Annotated[
        float,
        typer.Option(
            min=0,
            help="Days the old secret still verifies links mailed before (0: at once, "
            "e.g. after a leak). Request verification links live 7 days.",
        ),
    ] = 7,
) -> None:
    """Sign new links with a fresh secret; the old one verifies for the grace period."""
    data_dir = state(ctx).settings.data_dir
    now = utcnow()
    rotate(data_dir, grace=timedelta(days=grace_days), now=now)
    typer.echo(f"new signing secret in {secret_path(data_dir)} (mode 0600)")
    if grace_days:
        until = (now + timedelta(days=grace_days)).isoformat(timespec="seconds")
        typer.echo(f"links signed before keep working until {until}")
    else:
        typer.echo("links signed before stop working now")
    typer.echo(
        "running servers pick the change up by themselves; copy the file to every "
        "server that does not share this data directory"
    )
