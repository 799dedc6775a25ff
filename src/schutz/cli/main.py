"""The `schutz` entry point: global options, sub-command groups, friendly errors."""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from typer.core import TyperGroup, TyperOption

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
    systems,
    worker,
)
from schutz.cli.context import CliState
from schutz.errors import SchutzError

DATA_DIR_HELP = "Data directory (default ./schutz-data)."


def _late_data_dir(ctx: Any, _param: Any, value: Any) -> None:
    """`--data-dir` given after the command name: it replaces the one before, if any."""
    if value is None:
        return
    root = ctx.find_root()
    if not isinstance(root.obj, CliState):
        root.obj = CliState()
    root.obj.data_dir = Path(value)


class SchutzGroup(TyperGroup):
    """The root group. Every command below it takes `--data-dir` too, so that
    `schutz init --data-dir X` works as well as `schutz --data-dir X init`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        own = next(p for p in self.params if isinstance(p, TyperOption) and p.name == "data_dir")
        late = copy.copy(own)  # the same option, without the environment variable
        late.envvar = None
        late.expose_value = False
        late.callback = _late_data_dir
        late.help = DATA_DIR_HELP
        pending = list(self.commands.values())
        while pending:
            command = pending.pop()
            if not any(p.name == "data_dir" for p in command.params):
                command.params.append(late)
            pending.extend(getattr(command, "commands", {}).values())


app = typer.Typer(
    name="schutz",
    cls=SchutzGroup,
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
app.add_typer(systems.app, name="systems")
app.add_typer(secret.app, name="secret")
app.add_typer(breach.app, name="breach")


@app.callback()
def main(
    ctx: typer.Context,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            envvar="SCHUTZ_DATA_DIR",
            help=DATA_DIR_HELP + " Also accepted after the command name.",
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
