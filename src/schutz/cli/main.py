"""The `schutz` entry point: global options, sub-command groups, friendly errors."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from schutz.cli import (
    audit,
    backup,
    breach,
    identity,
    keys,
    policy,
    recipients,
    requests,
    retention,
    scan,
    secret,
    serve,
    worker,
)
from schutz.cli.context import CliState
from schutz.errors import SchutzError

app = typer.Typer(
    name="schutz",
    help="Schutz makes a website keep its privacy policy.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
serve.register(app)
worker.register(app)
scan.register(app)
backup.register(app)
app.add_typer(policy.app, name="policy")
app.add_typer(audit.app, name="audit")
app.add_typer(identity.staff_app, name="staff")
app.add_typer(identity.apikey_app, name="apikey")
app.add_typer(keys.app, name="keys")
app.add_typer(retention.app, name="retention")
app.add_typer(requests.app, name="requests")
app.add_typer(recipients.app, name="recipients")
app.add_typer(secret.app, name="secret")
app.add_typer(breach.app, name="breach")


@app.callback()
def main(
    ctx: typer.Context,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir", envvar="SCHUTZ_DATA_DIR", help="Data directory (default ./schutz-data)."
        ),
    ] = None,
) -> None:
    ctx.obj = CliState(data_dir=data_dir)


def run() -> None:
    """Console-script entry: a user mistake prints one line and exits non-zero, no traceback."""
    try:
        app(standalone_mode=True)
    except SchutzError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        typer.echo(f"error: configuration {where}: {first.get('msg')}", err=True)
        sys.exit(2)
