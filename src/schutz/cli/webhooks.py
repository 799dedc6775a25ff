"""What `schutz recipients` and `schutz systems` share: both point a party the policy names
at a webhook URL with a signing secret, and list where each party's deliveries go."""

# No `from __future__ import annotations`: Typer reads the commands' annotations, and the
# argument help below is built from the factory's parameters, which a string could not see.
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.orm import Session

from schutz.cli.context import state
from schutz.clock import utcnow
from schutz.db import migrate
from schutz.errors import Denied
from schutz.policy.loader import load_policy_set
from schutz.policy.schema import Policy

CLI_ACTOR = "cli"

Url = Annotated[str, typer.Option(help="Webhook URL (https; http only to localhost).")]
SecretFile = Annotated[
    Path, typer.Option("--secret-file", help="File (mode 0600) holding the signing secret.")
]
Setter = Callable[[Session, Policy, datetime], object]
Lister = Callable[[Session, Policy], list[tuple[str, str, str | None, bool]]]
EndpointSetter = Callable[..., object]
"""`set_endpoint(session, policy, name, *, url, secret_file, actor, now)` of a domain."""


def set_and_commit(ctx: typer.Context, setter: Setter) -> None:
    """Run `setter` under the policy in force and commit; a refusal is committed too, so
    that the refused attempt stays in the audit log, and then raised."""
    st = state(ctx)
    migrate(st.engine)
    now = utcnow()
    policy = load_policy_set(st.settings.policy).in_force(now.date())
    with st.sessions() as session:
        try:
            setter(session, policy, now)
        except Denied:
            session.commit()
            raise
        session.commit()


def print_endpoints(ctx: typer.Context, lister: Lister, widths: tuple[int, int]) -> None:
    """One line a party: name, what it covers, and its URL or "not configured"."""
    st = state(ctx)
    migrate(st.engine)
    policy = load_policy_set(st.settings.policy).in_force(utcnow().date())
    with st.sessions() as session:
        rows = lister(session, policy)
    for name, covers, url, secret_ok in rows:
        where = "not configured" if url is None else url
        if url is not None and not secret_ok:
            where += "  (secret file unusable)"
        typer.echo(f"{name:<{widths[0]}} {covers:<{widths[1]}} {where}")


def add_endpoint_commands(
    app: typer.Typer,
    *,
    party: str,
    example: str,
    delivers: str,
    set_endpoint: EndpointSetter,
    rows: Lister,
    widths: tuple[int, int],
) -> None:
    """`set NAME --url --secret-file` and `list` on `app`, for one kind of party."""

    @app.command("set", help=f"Point a {party} at its webhook URL; only those the policy names.")
    def set_one(
        ctx: typer.Context,
        name: Annotated[str, typer.Argument(help=f"A {party} the policy names, e.g. {example}.")],
        url: Url,
        secret_file: SecretFile,
    ) -> None:
        def setter(session: Session, policy: Policy, now: datetime) -> None:
            set_endpoint(
                session, policy, name, url=url, secret_file=secret_file, actor=CLI_ACTOR, now=now
            )

        set_and_commit(ctx, setter)
        typer.echo(f"{name}: {delivers} go to {url}")

    @app.command("list", help=f'Every {party} of the policy in force, its URL or "not configured".')
    def list_all(ctx: typer.Context) -> None:
        print_endpoints(ctx, rows, widths)
