"""`schutz breach`: the breach register (Art. 33 and 34 GDPR) from the server's shell.

`record` enters a breach and finds the affected subjects, `list` shows the register with
the 72-hour clock, `show` prints one breach and the notification draft for the authority,
`reported` notes the authority's notification, `notify-subjects` queues the Art. 34 mails.
Every step is audited; nothing personal is printed (subject counts, never addresses).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from schutz.breaches import service
from schutz.breaches.clock import deadline, is_overdue
from schutz.breaches.draft import authority_draft
from schutz.breaches.models import Breach
from schutz.cli.context import CliState, state
from schutz.clock import utcnow
from schutz.db import migrate
from schutz.errors import InvalidInput
from schutz.policy.loader import load_policy_set
from schutz.policy.schema import Policy
from schutz.vault.keys import load_keyring

ACTOR = "cli:breach"

app = typer.Typer(help="The breach register (Art. 33/34 GDPR).", no_args_is_help=True)


@app.callback()
def breach() -> None:
    """The breach register (Art. 33/34 GDPR)."""


def _moment(value: str | None, what: str) -> datetime | None:
    """An ISO 8601 time; without a zone it is taken as UTC."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{what}: {value!r} is not an ISO 8601 time") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _split(value: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in value.split(",") if v.strip())


def _policy(st: CliState, now: datetime) -> Policy:
    return load_policy_set(st.settings.policy).in_force(now.date())


def _line(b: Breach, now: datetime) -> str:
    if b.reported_at is not None:
        clock = f"reported {b.reported_at:%Y-%m-%d %H:%M}"
    elif b.risk == "none":
        clock = "not reportable (no risk)"
    else:
        clock = f"report by {deadline(b):%Y-%m-%d %H:%M} UTC"
        clock += "  OVERDUE" if is_overdue(b, now) else ""
    return f"{b.id}  {b.risk:<5} {b.affected_subjects:>6} subjects  {clock}  {b.title}"


@app.command("record")
def record_command(
    ctx: typer.Context,
    title: Annotated[str, typer.Option(help="Short label, no personal data.")],
    nature: Annotated[str, typer.Option(help="What happened (Art. 33(3)(a)).")],
    categories: Annotated[str, typer.Option(help="Data categories, comma-separated.")],
    risk: Annotated[str, typer.Option(help="none, risk or high.")],
    consequences: Annotated[str, typer.Option(help="Likely consequences.")],
    measures: Annotated[str, typer.Option(help="Measures taken or proposed.")],
    aware_at: Annotated[str | None, typer.Option(help="ISO time of awareness (now).")] = None,
    sources: Annotated[str, typer.Option(help="Intake sources, comma-separated (all).")] = "",
    occurred_from: Annotated[str | None, typer.Option(help="ISO time it began.")] = None,
    occurred_until: Annotated[str | None, typer.Option(help="ISO time it ended.")] = None,
) -> None:
    """Enter a breach; prints its id, the subjects affected and the 72-hour deadline."""
    st = state(ctx)
    migrate(st.engine)
    now = utcnow()
    facts = service.BreachFacts(
        title=title,
        nature=nature,
        aware_at=_moment(aware_at, "--aware-at") or now,
        categories=_split(categories),
        risk=risk,
        consequences=consequences,
        measures=measures,
        sources=_split(sources),
        occurred_from=_moment(occurred_from, "--occurred-from"),
        occurred_until=_moment(occurred_until, "--occurred-until"),
    )
    with st.sessions() as session, session.begin():
        found = service.record_breach(session, _policy(st, now), facts, actor=ACTOR, now=now)
        typer.echo(f"recorded breach {found.id}")
        typer.echo(f"affected: {found.affected_subjects} subjects, {found.affected_records} fields")
        typer.echo(f"notify the supervisory authority by {deadline(found):%Y-%m-%d %H:%M} UTC")


@app.command("list")
def list_command(ctx: typer.Context) -> None:
    """The register, newest first: id, risk, subjects affected, the 72-hour clock, title."""
    st = state(ctx)
    migrate(st.engine)
    now = utcnow()
    with st.sessions() as session:
        rows = service.list_breaches(session)
        for b in rows:
            typer.echo(_line(b, now))
    typer.echo(f"{len(rows)} breaches")


@app.command("show")
def show_command(
    ctx: typer.Context,
    breach_id: Annotated[str, typer.Argument(help="The breach's id.")],
    lang: Annotated[str, typer.Option(help="en or de.")] = "en",
) -> None:
    """One breach and the notification draft for the supervisory authority (Art. 33(3))."""
    st = state(ctx)
    migrate(st.engine)
    now = utcnow()
    with st.sessions() as session:
        found = service.get_breach(session, breach_id)
        typer.echo(_line(found, now))
        typer.echo("")
        typer.echo(authority_draft(_policy(st, now), found, lang), nl=False)


@app.command("reported")
def reported_command(
    ctx: typer.Context,
    breach_id: Annotated[str, typer.Argument(help="The breach's id.")],
    reference: Annotated[str | None, typer.Option(help="The authority's file number.")] = None,
    delay_reason: Annotated[
        str | None, typer.Option(help="Why after 72 hours (required then).")
    ] = None,
) -> None:
    """Note that the supervisory authority has been notified."""
    st = state(ctx)
    migrate(st.engine)
    with st.sessions() as session, session.begin():
        found = service.mark_reported(
            session, breach_id, reference=reference, delay_reason=delay_reason,
            actor=ACTOR, now=utcnow(),
        )  # fmt: skip
        typer.echo(
            f"breach {found.id} reported to the authority at {found.reported_at:%Y-%m-%d %H:%M} UTC"
        )


@app.command("notify-subjects")
def notify_command(
    ctx: typer.Context,
    breach_id: Annotated[str, typer.Argument(help="The breach's id.")],
    lang: Annotated[str, typer.Option(help="Language of the mail: en or de.")] = "en",
) -> None:
    """Queue the Art. 34 mail to every affected subject not told yet (sealed, once each)."""
    st = state(ctx)
    migrate(st.engine)
    now = utcnow()
    keyring = load_keyring(st.settings)
    with st.sessions() as session, session.begin():
        total = service.get_breach(session, breach_id).affected_subjects
        with Progress(
            TextColumn("mails"), BarColumn(), MofNCompleteColumn(),
            console=Console(stderr=True), transient=True,
        ) as bar:  # fmt: skip
            task = bar.add_task("mails", total=total)
            done = service.notify_subjects(
                session, _policy(st, now), keyring, breach_id, actor=ACTOR, now=now, lang=lang,
                progress=lambda n: bar.advance(task, n),
            )  # fmt: skip
    typer.echo(f"queued {done.queued} mails; {done.without_address} subjects have no address")
    if done.already:
        typer.echo(f"{done.already} subjects had been told before")
    typer.echo("run `schutz worker` (or let it run) to send them")
