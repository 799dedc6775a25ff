"""Logging for `schutz serve` and `schutz worker`: one JSON object per line on standard error.

Each line carries `time`, `level`, `logger`, `message`, and for requests `request_id`,
`method`, `route` (the template, `/api/v1/subjects/{subject_id}`, never the path asked for),
`status` and `duration_ms`. Query strings, bodies and exception messages are never written:
any of them may hold personal data (C10). Libraries that log SQL parameters or form fields
at debug level (SQLAlchemy, python-multipart, httpx) stay at WARNING whatever the level.
"""

from __future__ import annotations

import contextvars
import json
import logging
import logging.config
import traceback
from datetime import UTC, datetime
from typing import Any

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "schutz_request_id", default=None
)

REQUEST_FIELDS = ("request_id", "method", "route", "status", "duration_ms")
QUIET = ("sqlalchemy", "multipart", "python_multipart", "httpx", "httpcore", "alembic", "asyncio")
LEVELS = ("debug", "info", "warning", "error")


class JsonFormatter(logging.Formatter):
    """A log record as one JSON line; exceptions as their type and frames, never the message."""

    def format(self, record: logging.LogRecord) -> str:
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
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"level": "WARNING", "handlers": ["stderr"]},
        "loggers": {
            "schutz": {"level": upper},
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
