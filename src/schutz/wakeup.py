"""Waking outbox workers in other processes: PostgreSQL `LISTEN`/`NOTIFY`.

Inside one process a commit that queued work sets the embedded worker's event (`db.note_work`).
A worker in another process (`schutz worker`, a second `serve`) learns of it here: the
queuing transaction sends `NOTIFY schutz_work`, which PostgreSQL delivers when (and only if)
that transaction commits, and each worker keeps one connection that `LISTEN`s and sets its
event on every notification. The notification carries no payload: it says "look at the
outbox", never what is in it. A lost connection is re-opened after a pause; meanwhile, and on
SQLite (which has no such channel and one process writing anyway), the worker's poll
interval still bounds the wait.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy import Connection, Engine, text
from sqlalchemy.orm import Session

log = logging.getLogger("schutz.wakeup")

CHANNEL = "schutz_work"
_NOTIFY = text(f"NOTIFY {CHANNEL}")
RETRY_SECONDS = 5.0


def notify(session: Session) -> None:
    """Have PostgreSQL wake every listening worker once `session`'s transaction commits."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_NOTIFY)


class Listener:
    """A daemon thread that sets `wake` on every `NOTIFY schutz_work`; `close()` ends it."""

    def __init__(self, engine: Engine, wake: threading.Event) -> None:
        self._conninfo = engine.url.set(drivername="postgresql").render_as_string(
            hide_password=False
        )
        self._wake = wake
        self._closed = threading.Event()
        self.listening = threading.Event()
        """Set while the connection listens (tests wait for it)."""
        self._thread = threading.Thread(target=self._run, daemon=True, name="schutz-wakeup")
        self._thread.start()

    def _run(self) -> None:
        import psycopg

        while not self._closed.is_set():
            try:
                with psycopg.connect(self._conninfo, autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self.listening.set()
                    self._wake.set()  # work queued while nobody listened is not missed
                    while not self._closed.is_set():
                        for _ in conn.notifies(timeout=1.0):
                            self._wake.set()
            except Exception as exc:  # a dropped connection: the poll covers the gap
                log.warning("work notifications interrupted (%s)", type(exc).__name__)
            finally:
                self.listening.clear()
            self._closed.wait(RETRY_SECONDS)

    def close(self) -> None:
        self._closed.set()
        self._thread.join(timeout=5)


def listen(bind: Engine | Connection | None, wake: threading.Event) -> Listener | None:
    """Start listening for work queued by other processes (`bind`: the worker's sessions'
    engine); None on SQLite."""
    engine = bind.engine if isinstance(bind, Connection) else bind
    if engine is None or engine.dialect.name != "postgresql":
        return None
    return Listener(engine, wake)
