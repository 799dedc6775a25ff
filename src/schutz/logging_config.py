"""Logging for `schutz serve` and `schutz worker`: one JSON object per line on standard error.

Each line carries `time`, `level`, `logger`, `message`, and for requests `request_id`,
`method`, `route` (the template, `/api/v1/subjects/{subject_id}`, never the path asked for),
`status` and `duration_ms`. Query strings, bodies and exception messages are never written:
any of them may hold personal data (C10). Libraries that log SQL parameters or form fields
at debug level (SQLAlchemy, python-multipart, httpx) stay at WARNING whatever the level.

The access line is the one written per request, so it is assembled from pieces kept between
requests (the escaped route, method and message per route and status; the timestamp's
seconds) instead of a dictionary through `json.dumps`; it reads exactly the same. Health
probes answered 2xx are counted in `/metrics` but not logged (`ProbeFilter`): an
orchestrator asks every few seconds, and those lines would drown the rest; a failing probe
is logged like any other answer.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import json
import logging
import logging.config
import threading
import time
import traceback
import weakref
from datetime import UTC, datetime
from typing import Any

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "schutz_request_id", default=None
)

REQUEST_FIELDS = ("request_id", "method", "route", "status", "duration_ms")
QUIET = ("sqlalchemy", "multipart", "python_multipart", "httpx", "httpcore", "alembic", "asyncio")
LEVELS = ("debug", "info", "warning", "error")
ACCESS_LOGGER = "schutz.access"
PROBES = frozenset({"/healthz", "/readyz"})
"""Route templates of the liveness and readiness probes."""


class ProbeFilter(logging.Filter):
    """Drops the access lines of health probes that were answered 2xx or 3xx."""

    def filter(self, record: logging.LogRecord) -> bool:
        route = getattr(record, "route", None)
        if route not in PROBES:
            return True
        status = getattr(record, "status", None)
        return not isinstance(status, int) or status >= 400


_quote = functools.lru_cache(maxsize=4096)(
    lambda text: json.dumps(text, ensure_ascii=False)  # route templates, methods, messages
)


@functools.lru_cache(maxsize=4)
def _second(whole: int) -> str:
    return datetime.fromtimestamp(whole, UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _timestamp(created: float) -> str:
    """`datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")`, faster."""
    whole = int(created)
    micros = round((created - whole) * 1_000_000)
    if micros >= 1_000_000:
        whole, micros = whole + 1, micros - 1_000_000
    return f"{_second(whole)}.{micros // 1000:03d}+00:00"


def _safe(text: str) -> bool:
    return text.isascii() and text.isprintable() and '"' not in text and "\\" not in text


class JsonFormatter(logging.Formatter):
    """A log record as one JSON line; exceptions as their type and frames, never the message."""

    def format(self, record: logging.LogRecord) -> str:
        fast = self._access_line(record)
        if fast is not None:
            return fast
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None) or request_id_var.get()
        if request_id:
            line["request_id"] = request_id
        for field in REQUEST_FIELDS[1:]:
            value = getattr(record, field, None)
            if value is not None:
                line[field] = value
        if record.exc_info and record.exc_info[0] is not None:
            kind, _, trace = record.exc_info
            line["exception"] = kind.__name__
            line["stack"] = [
                f"{frame.filename}:{frame.lineno} in {frame.name}"
                for frame in traceback.extract_tb(trace)
            ]
        return json.dumps(line, ensure_ascii=False, default=str)

    @staticmethod
    def _access_line(record: logging.LogRecord) -> str | None:
        """The access line built from cached pieces; None for anything but a plain one."""
        if record.name != ACCESS_LOGGER or record.exc_info or record.levelno != logging.INFO:
            return None
        fields = record.__dict__
        method, route = fields.get("method"), fields.get("route")
        status, duration = fields.get("status"), fields.get("duration_ms")
        request_id = fields.get("request_id") or request_id_var.get()
        if not (
            isinstance(method, str)
            and isinstance(route, str)
            and type(status) is int
            and type(duration) is float
            and request_id
            and _safe(request_id)
        ):
            return None
        return (
            f'{{"time": "{_timestamp(record.created)}", "level": "info",'
            f' "logger": "{ACCESS_LOGGER}", "message": {_quote(record.getMessage())},'
            f' "request_id": "{request_id}", "method": {_quote(method)},'
            f' "route": {_quote(route)}, "status": {status}, "duration_ms": {duration!r}}}'
        )


class BatchingStreamHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Lines to standard error in batches: one write per `INTERVAL` (or `MAX_LINES`) under
    load instead of one system call per request, which cost a page view a fifth of its time.

    A warning or worse is written at once with everything before it, and a quiet process
    writes what it holds within `INTERVAL` (one daemon thread for every such handler of the
    process), so a crash loses at most that much of the access log; `logging.shutdown` at
    exit writes the rest. A stream that fails (a closed pipe, a full disk) loses lines but
    never fails the request, the worker or the ticker that logged them.
    """

    INTERVAL = 0.25
    MAX_LINES = 512

    def __init__(self, stream: Any = None) -> None:
        super().__init__(stream)
        self._pending: list[str] = []
        self._written = time.monotonic()
        _tick_for(self)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception:
            self.handleError(record)
            return
        with self.lock:  # type: ignore[union-attr]
            self._pending.append(line)
            if (
                record.levelno >= logging.WARNING
                or len(self._pending) >= self.MAX_LINES
                or time.monotonic() - self._written >= self.INTERVAL
            ):
                self._write()

    def flush(self) -> None:
        with self.lock:  # type: ignore[union-attr]
            self._write()
            with contextlib.suppress(OSError, ValueError):  # broken pipe, closed stream
                super().flush()

    def _write(self) -> None:
        self._written = time.monotonic()
        if not self._pending:
            return
        batch, self._pending = self._pending, []
        # A failing stream leaves nowhere to report it: the lines are lost, nothing else.
        with contextlib.suppress(Exception):
            self.stream.write("\n".join(batch) + "\n")


_ticking: weakref.WeakSet[BatchingStreamHandler] = weakref.WeakSet()
_ticker: list[threading.Thread] = []


def _tick_for(handler: BatchingStreamHandler) -> None:
    """Have the process's one ticker thread write what `handler` holds every `INTERVAL`."""
    _ticking.add(handler)
    if _ticker and _ticker[0].is_alive():
        return

    def tick() -> None:
        while True:
            time.sleep(BatchingStreamHandler.INTERVAL)
            for each in list(_ticking):
                if each._pending:
                    with contextlib.suppress(Exception):  # keep ticking for the others
                        each.flush()

    _ticker[:] = [threading.Thread(target=tick, name="schutz-log-flush", daemon=True)]
    _ticker[0].start()


def logging_config(level: str = "info") -> dict[str, Any]:
    """A `logging.config.dictConfig` dictionary, also what uvicorn takes as `log_config`."""
    level = level.lower()
    if level not in LEVELS:
        raise ValueError(f"log level must be one of {', '.join(LEVELS)}; got {level!r}")
    upper = level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "filters": {"probes": {"()": ProbeFilter}},
        "handlers": {
            "stderr": {
                "()": BatchingStreamHandler,
                "formatter": "json",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"level": "WARNING", "handlers": ["stderr"]},
        "loggers": {
            "schutz": {"level": upper},
            ACCESS_LOGGER: {"filters": ["probes"]},
            "uvicorn": {"level": upper},
            # uvicorn's access line has the query string and the client address; ours
            # (schutz.access) has neither, so uvicorn's stays off.
            "uvicorn.access": {"level": "WARNING", "propagate": False, "handlers": []},
            **{name: {"level": "WARNING"} for name in QUIET},
        },
    }


def configure_logging(level: str = "info") -> dict[str, Any]:
    """Install the JSON logging configuration in this process and return it."""
    config = logging_config(level)
    logging.config.dictConfig(config)
    return config
