"""`schutz retention run`: everything that must go once its time is up, in one daily job.

Run it daily (cron or a systemd timer). Erasure requests made while an invoice or a
commercial letter had to be kept (HGB §257, AO §147) restricted the data instead; on the
day the hold lapses this erases it (Art. 17(1)(a) GDPR: no longer necessary). Raw page
views older than the policy's analytics retention go too (their daily totals stay), and
data-subject requests nobody confirmed in time expire. Finished outbox mail goes after
`SCHUTZ_OUTBOX_KEEP_DAYS` (7), mail tied to no subject at once, with their .eml files; then
SQLite's write-ahead log is folded in and emptied, so no deleted page lingers in it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer

from schutz.analytics.retention import delete_expired_page_views
from schutz.cli.context import state
from schutz.clock import utcnow
from schutz.db import checkpoint, migrate
from schutz.mail.retention import purge_finished, remove_orphaned_files
from schutz.policy.loader import load_policy_set
from schutz.subject_requests.service import expire_unverified
from schutz.vault.erasure import run_retention

app = typer.Typer(help="Retention periods and legal holds.", no_args_is_help=True)


@app.callback()
def retention() -> None:
    """Retention periods and legal holds."""


@app.command("run")
def run_command(
    ctx: typer.Context,
    limit: Annotated[int | None, typer.Option(min=1, help="Erase at most this many.")] = None,
) -> None:
    """Erase lapsed holds, delete old raw page views and mail, expire unconfirmed requests."""
    st = state(ctx)
    migrate(st.engine)
    now = utcnow()
    policy = load_policy_set(st.settings.policy).in_force(now.date())
    with st.sessions() as session, session.begin():
        done = run_retention(session, policy, actor="system:retention", now=now, limit=limit)
        page_views = delete_expired_page_views(session, policy, actor="system:retention", now=now)
        expired = expire_unverified(session, actor="system:retention", now=now)
        keep = timedelta(days=st.settings.outbox_keep_days)
        mails = purge_finished(session, older_than=keep, now=now)
    with st.sessions() as session:
        files = remove_orphaned_files(session, st.settings.outbox_dir)
    checkpoint(st.engine)
    erased = sum(1 for result in done if result.erased)
    typer.echo(f"erased {erased} subjects whose legal hold has lapsed")
    if erased < len(done):
        typer.echo(f"kept {len(done) - erased} whose data a newer legal hold still covers")
    typer.echo(f"deleted {page_views} raw page views past the analytics retention")
    typer.echo(f"expired {len(expired)} data-subject requests nobody confirmed")
    typer.echo(f"deleted {mails} finished outbox mails and {files} mail files")
