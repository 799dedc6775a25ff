"""`schutz worker`: deliver the outbox (e-mail and webhooks) until stopped."""

from __future__ import annotations

import threading
from typing import Annotated

import typer

from schutz.cli.context import state
from schutz.db import migrate
from schutz.logging_config import configure_logging
from schutz.worker import run_forever, run_once


def register(app: typer.Typer) -> None:
    @app.command()
    def worker(
        ctx: typer.Context,
        once: Annotated[bool, typer.Option(help="One pass over what is due, then exit.")] = False,
    ) -> None:
        """Deliver queued e-mails and webhooks, retrying with back-off."""
        st = state(ctx)
        configure_logging(st.settings.log_level)
        migrate(st.engine)
        if once:
            reports = run_once(st.sessions, st.settings)
            for kind, report in reports.items():
                typer.echo(
                    f"{kind.value}: {len(report.sent)} sent, {len(report.retrying)} retrying, "
                    f"{len(report.dead)} dead"
                )
            return
        typer.echo("worker running (Ctrl+C stops it)")
        stop = threading.Event()
        try:
            run_forever(st.sessions, st.settings, stop=stop)
        except KeyboardInterrupt:
            stop.set()
