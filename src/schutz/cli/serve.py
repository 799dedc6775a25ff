"""`schutz init` and `schutz serve`: prepare the data directory and run the web server."""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Annotated, Any

import typer

from schutz.cli.context import state
from schutz.config import Settings
from schutz.db import migrate

if TYPE_CHECKING:
    from fastapi import FastAPI


def init_storage(ctx: typer.Context) -> None:
    """Create the data directory and bring the schema up to date; safe to run twice."""
    st = state(ctx)
    st.settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrate(st.engine)


def lean_log_records() -> None:
    """Leave out of each log record what our JSON lines never show: the caller's file and
    line (a walk up the stack, on every access line), the thread and the process."""
    logging._srcfile = None  # the switch the logging docs name for this
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False


def init(ctx: typer.Context) -> None:
    """Create the data directory and schema (safe to run twice)."""
    init_storage(ctx)
    typer.echo(f"ready: {state(ctx).settings.data_dir.resolve()}")


SETTINGS_ENV = "SCHUTZ_SERVE_SETTINGS"
"""How `serve --workers N` hands its settings to the worker processes uvicorn starts."""


def worker_app() -> FastAPI:
    """The app of one of `serve --workers N`'s processes, built from the parent's settings."""
    from schutz.web.app import create_app

    settings = Settings.model_validate_json(os.environ[SETTINGS_ENV])
    if settings.demo:
        from schutz.demo.app import create_demo_app

        return create_demo_app(settings)
    return create_app(settings)


def _refuse_sqlite_workers(settings: Settings, workers: int) -> None:
    if workers > 1 and settings.resolved_database_url.startswith("sqlite"):
        typer.echo(
            "--workers above 1 needs PostgreSQL (set SCHUTZ_DATABASE_URL): SQLite has one "
            "writer at a time, and rate limits would be counted per process.",
            err=True,
        )
        raise typer.Exit(2)


def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="PORT", help="TCP port.")] = 8000,
    demo: Annotated[bool, typer.Option(help="Seed a demo shop, staff login and API key.")] = False,
    embedded_worker: Annotated[
        bool,
        typer.Option("--worker/--no-worker", help="Deliver the outbox from inside this process."),
    ] = True,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            envvar="SCHUTZ_WEB_WORKERS",
            help="Web processes sharing the port (uvicorn's supervisor); above 1 needs "
            "PostgreSQL. The outbox worker still runs once, in the supervising process.",
        ),
    ] = 1,
) -> None:
    """Migrate, then serve the pages and the API."""
    from schutz.logging_config import configure_logging
    from schutz.web.app import create_app

    st = state(ctx)
    _refuse_sqlite_workers(st.settings, workers)
    log_config = configure_logging(st.settings.log_level)
    lean_log_records()
    init_storage(ctx)
    update: dict[str, object] = {"demo": demo}
    if "base_url" not in st.settings.model_fields_set:
        # Links in mails and the demo shop's API calls follow the port actually served.
        shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104 - compared, not bound
        update["base_url"] = f"http://{shown}:{port}"
    settings = st.settings.model_copy(update=update)
    if demo:
        from schutz.demo import seed_demo
        from schutz.demo.app import create_demo_app

        seed_demo(st.sessions, settings, port=port, echo=typer.echo)
    # The app checks the key files before the embedded worker could trip over them.
    app = create_demo_app(settings) if demo else create_app(settings)
    if embedded_worker:
        from schutz.worker import start_in_thread

        start_in_thread(st.sessions, settings)
    typer.echo(f"Schutz on http://{host}:{port}/privacy  (Ctrl+C stops it)")
    _run(app, settings, host=host, port=port, workers=workers, log_config=log_config)


def _run(
    app: FastAPI,
    settings: Settings,
    *,
    host: str,
    port: int,
    workers: int,
    log_config: dict[str, Any],
) -> None:
    import uvicorn

    # Schutz decides itself which proxies to trust (SCHUTZ_TRUSTED_PROXIES); uvicorn's own
    # proxy handling would put forwarded client addresses into its access log, which is
    # off: schutz.access logs each request as JSON, without address or query string.
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_config": log_config,
        "log_level": settings.log_level,
        "access_log": False,
        "proxy_headers": False,
    }
    if workers == 1:
        uvicorn.run(app, **options)
        return
    # Several processes: uvicorn's supervisor binds the port once, starts `workers`
    # processes that each build the app from these settings, and restarts one that dies.
    app.state.engine.dispose()
    os.environ[SETTINGS_ENV] = settings.model_dump_json()
    uvicorn.run(f"{__name__}:worker_app", factory=True, workers=workers, **options)


def register(app: typer.Typer) -> None:
    app.command()(init)
    app.command()(serve)
