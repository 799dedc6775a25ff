"""`schutz retention run [--dry-run]`: everything that must go once its time is up, daily.

Run it daily (cron or a systemd timer). Every retention period the policy states for a
purpose is applied to the vault: a field whose purposes have all ended is deleted, one with
purposes left keeps only those, and a subject left with nothing is erased; a running legal
hold keeps what it covers (`schutz.retention`). Periods that start at the last contact or
the end of the contract count from the events the shop posts
(`POST /api/v1/subjects/{id}/events`). Erasure requests made while an invoice or a
commercial letter had to be kept (HGB §257, AO §147) restricted the data instead; on the
day the hold lapses this erases it (Art. 17(1)(a) GDPR). Raw page views older than the
policy's analytics retention go too (their daily totals stay), and data-subject requests
nobody confirmed in time expire. Finished outbox mail goes after `SCHUTZ_OUTBOX_KEEP_DAYS`
(7), mail tied to no subject at once, with their .eml files; then SQLite's write-ahead log
is folded in and emptied, so no deleted page lingers in it.

`--dry-run` changes nothing and prints what would go and why: subject ids, categories and
the rule, never a personal value.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn
from sqlalchemy.orm import Session

from schutz.analytics.retention import count_expired_page_views, delete_expired_page_views
from schutz.cli.context import state
from schutz.clock import utcnow
from schutz.db import checkpoint, migrate
from schutz.mail.retention import purge_finished, remove_orphaned_files
from schutz.policy.loader import load_policy_set
from schutz.policy.schema import Policy
from schutz.retention.service import SubjectPlan, apply_expiry, plan_expiry
from schutz.subject_requests.service import expire_unverified, list_requests
from schutz.vault.erasure import run_retention
from schutz.vault.service import held_erasures_due

ACTOR = "system:retention"

app = typer.Typer(help="Retention periods and legal holds.", no_args_is_help=True)


@app.callback()
def retention() -> None:
    """Retention periods and legal holds."""


class _Bar:
    """A progress bar on standard error, gone when done; silent when not a terminal."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task: TaskID | None = None

    def start(self, label: str, total: int) -> None:
        self.task = self.progress.add_task(label, total=total)

    def advance(self, n: int) -> None:
        if self.task is not None:
            self.progress.advance(self.task, n)


@contextmanager
def _bar() -> Iterator[_Bar]:
    with Progress(
        TextColumn("{task.description:<9}"), BarColumn(), MofNCompleteColumn(),
        console=Console(stderr=True), transient=True,
    ) as progress:  # fmt: skip
        yield _Bar(progress)


def _plan(session: Session, policy: Policy, now: datetime) -> list[SubjectPlan]:
    with _bar() as bar:
        return plan_expiry(
            session, policy, now=now, progress=bar.advance,
            total=lambda n: bar.start("subjects", n),
        )  # fmt: skip


def _print_plan(plans: list[SubjectPlan]) -> None:
    for plan in plans:
        for v in plan.verdicts:
            action = "delete" if v.drop else f"narrow to {','.join(v.keep_for)}"
            rules = "; ".join(e.rule for e in v.expired)
            typer.echo(f"{plan.subject_id}  {v.field.category}  {action}  ({rules})")
        for v in plan.held:
            typer.echo(f"{plan.subject_id}  {v.field.category}  kept: a legal hold runs")


def _dry_run(session: Session, policy: Policy, now: datetime, keep: timedelta) -> None:
    plans = _plan(session, policy, now)
    _print_plan(plans)
    fields = sum(len(p.verdicts) for p in plans)
    typer.echo(f"would expire {fields} fields of {len(plans)} subjects past their retention")
    for subject_id in held_erasures_due(session, now):
        typer.echo(f"{subject_id}  all  erase  (legal hold lapsed; erasure was requested)")
    page_views = count_expired_page_views(session, policy, now=now)
    typer.echo(f"would delete {page_views} raw page views past the analytics retention")
    waiting = list_requests(session, status="awaiting_verification", now=now)
    stale = sum(1 for r in waiting if r.verify_by is not None and r.verify_by < now)
    typer.echo(f"would expire {stale} data-subject requests nobody confirmed")
    typer.echo(f"would delete finished outbox mail older than {keep.days} days")
    typer.echo("dry run: nothing was changed")


@app.command("run")
def run_command(
    ctx: typer.Context,
    limit: Annotated[int | None, typer.Option(min=1, help="Erase at most this many.")] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only list what would go, and why.")
    ] = False,
) -> None:
    """Apply the policy's retention periods, erase lapsed holds, delete old raw page views
    and mail, expire unconfirmed requests."""
    st = state(ctx)
    migrate(st.engine)
    now = utcnow()
    policy = load_policy_set(st.settings.policy).in_force(now.date())
    keep = timedelta(days=st.settings.outbox_keep_days)
    if dry_run:
        with st.sessions() as session:
            _dry_run(session, policy, now, keep)
        return
    with st.sessions() as session, session.begin():
        plans = _plan(session, policy, now)
        with _bar() as bar:
            bar.start("applying", len(plans))
            expiry = apply_expiry(session, policy, plans, actor=ACTOR, now=now,
                                  progress=bar.advance)  # fmt: skip
        done = run_retention(session, policy, actor=ACTOR, now=now, limit=limit)
        page_views = delete_expired_page_views(session, policy, actor=ACTOR, now=now)
        expired = expire_unverified(session, actor=ACTOR, now=now)
        mails = purge_finished(session, older_than=keep, now=now)
    with st.sessions() as session:
        files = remove_orphaned_files(session, st.settings.outbox_dir)
    checkpoint(st.engine)
    typer.echo(
        f"expired {expiry.fields_deleted} fields and narrowed {expiry.fields_narrowed}"
        f" past their retention; erased {expiry.subjects_erased} subjects left with nothing"
    )
    if expiry.fields_held:
        typer.echo(f"kept {expiry.fields_held} expired fields a legal hold still covers")
    erased = sum(1 for result in done if result.erased)
    typer.echo(f"erased {erased} subjects whose legal hold has lapsed")
    if erased < len(done):
        typer.echo(f"kept {len(done) - erased} whose data a newer legal hold still covers")
    typer.echo(f"deleted {page_views} raw page views past the analytics retention")
    typer.echo(f"expired {len(expired)} data-subject requests nobody confirmed")
    typer.echo(f"deleted {mails} finished outbox mails and {files} mail files")
