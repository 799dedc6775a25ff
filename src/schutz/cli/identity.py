"""`schutz staff add|disable`, `schutz apikey create|revoke`: who may use the console and API."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from schutz.cli.context import state
from schutz.clock import utcnow
from schutz.db import migrate, transaction
from schutz.identity import service
from schutz.identity.roles import API_KEY_ROLES, STAFF_ROLES

CLI_ACTOR = "cli"

staff_app = typer.Typer(help="Staff console users.", no_args_is_help=True)
apikey_app = typer.Typer(help="API keys for integrations.", no_args_is_help=True)


@staff_app.callback()
def staff() -> None:
    """Staff console users."""


@apikey_app.callback()
def apikey() -> None:
    """API keys for integrations."""


def _read_password() -> str:
    """From a hidden prompt with confirmation on a terminal; else one line of standard input."""
    if sys.stdin.isatty():
        password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
        return password
    return sys.stdin.readline().rstrip("\r\n")


@staff_app.command("add")
def add_staff(
    ctx: typer.Context,
    email: Annotated[str, typer.Option(help="Sign-in address.")],
    role: Annotated[str, typer.Option(help=f"One of: {', '.join(STAFF_ROLES)}.")],
) -> None:
    """Add a staff user; the password comes from the prompt or standard input."""
    st = state(ctx)
    migrate(st.engine)
    password = _read_password()
    with transaction(st.sessions) as session:
        user = service.add_staff(
            session, email=email, role=role, password=password, actor=CLI_ACTOR, now=utcnow()
        )
        user_id = user.id
    typer.echo(f"added staff user {user_id} with role {role}")


@staff_app.command("disable")
def disable_staff(
    ctx: typer.Context,
    email: Annotated[str, typer.Option(help="Sign-in address of the user.")],
) -> None:
    """Stop a staff user from signing in; their sessions end at once."""
    st = state(ctx)
    migrate(st.engine)
    with transaction(st.sessions) as session:
        user = service.disable_staff(session, email=email, actor=CLI_ACTOR, now=utcnow())
        user_id = user.id
    typer.echo(f"disabled staff user {user_id}")


@apikey_app.command("create")
def create_api_key(
    ctx: typer.Context,
    name: Annotated[str, typer.Option(help="A label for the audit log, e.g. shop-1.")],
    role: Annotated[str, typer.Option(help=f"One of: {', '.join(API_KEY_ROLES)}.")],
) -> None:
    """Create an API key; it is printed once, as the last line."""
    st = state(ctx)
    migrate(st.engine)
    with transaction(st.sessions) as session:
        _, plaintext = service.create_api_key(
            session, name=name, role=role, actor=CLI_ACTOR, now=utcnow()
        )
    typer.echo(f"created API key {name!r} with role {role}; store it now, it is shown only once:")
    typer.echo(plaintext)


@apikey_app.command("revoke")
def revoke_api_key(
    ctx: typer.Context,
    name: Annotated[str, typer.Option(help="The key's name.")],
) -> None:
    """Stop an API key from working."""
    st = state(ctx)
    migrate(st.engine)
    with transaction(st.sessions) as session:
        service.revoke_api_key(session, name=name, actor=CLI_ACTOR, now=utcnow())
    typer.echo(f"revoked API key {name!r}")
