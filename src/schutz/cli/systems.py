"""`schutz systems set|list`: where each of the operator's systems receives request events."""

from __future__ import annotations

import typer
from sqlalchemy.orm import Session

from schutz.cli.webhooks import add_endpoint_commands
from schutz.policy.schema import Policy
from schutz.systems.endpoints import list_systems, set_endpoint

app = typer.Typer(help="The operator's systems: request events.", no_args_is_help=True)


@app.callback()
def systems() -> None:
    """The operator's systems (shop database, CRM, helpdesk): where request events go."""


def _rows(session: Session, policy: Policy) -> list[tuple[str, str, str | None, bool]]:
    return [
        (v.system, ",".join(v.categories), v.url, v.secret_ok)
        for v in list_systems(session, policy)
    ]


add_endpoint_commands(
    app, party="system", example="shop_database", delivers="request events",
    set_endpoint=set_endpoint, rows=_rows, widths=(20, 40),
)  # fmt: skip
