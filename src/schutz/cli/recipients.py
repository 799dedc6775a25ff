"""`schutz recipients set|list`: where each processor named in the policy receives webhooks."""

from __future__ import annotations

import typer
from sqlalchemy.orm import Session

from schutz.cli.webhooks import add_endpoint_commands
from schutz.disclosures.endpoints import list_endpoints, set_endpoint
from schutz.policy.schema import Policy

app = typer.Typer(help="Processors' webhook endpoints (C2, C3).", no_args_is_help=True)


@app.callback()
def recipients() -> None:
    """Processors' webhook endpoints (C2, C3)."""


def _rows(session: Session, policy: Policy) -> list[tuple[str, str, str | None, bool]]:
    return [
        (v.recipient, ",".join(v.purposes), v.url, v.secret_ok)
        for v in list_endpoints(session, policy)
    ]


add_endpoint_commands(
    app, party="recipient", example="bank", delivers="webhooks",
    set_endpoint=set_endpoint, rows=_rows, widths=(26, 18),
)  # fmt: skip
