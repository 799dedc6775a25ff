"""What every command gets from the top-level callback: the settings and the database."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import typer
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from schutz.audit.keys import bind_audit_key, load_audit_key
from schutz.config import Settings
from schutz.db import make_engine, make_session_factory


@dataclass
class CliState:
    data_dir: Path | None = None
    _settings: Settings | None = field(default=None, repr=False)

    @cached_property
    def settings(self) -> Settings:
        if self.data_dir is not None:
            return Settings(data_dir=self.data_dir)
        return Settings()

    @cached_property
    def engine(self) -> Engine:
        engine = make_engine(self.settings.resolved_database_url)
        bind_audit_key(engine, load_audit_key(self.settings))
        return engine

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        return make_session_factory(self.engine)

    def close(self) -> None:
        """Give the database connections back when the command ends (a process that runs
        several commands, a test or a script, would otherwise keep one pool each)."""
        engine = self.__dict__.pop("engine", None)
        self.__dict__.pop("sessions", None)
        if engine is not None:
            engine.dispose()


def state(ctx: typer.Context) -> CliState:
    """The CliState of this invocation (a fresh one when a sub-app runs on its own in tests)."""
    root = ctx.find_root()
    if not isinstance(root.obj, CliState):
        root.obj = CliState()
    if not root.meta.get("schutz.closes"):
        root.meta["schutz.closes"] = True
        root.call_on_close(root.obj.close)
    return root.obj
