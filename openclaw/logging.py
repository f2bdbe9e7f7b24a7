"""Structured logs: the run and session a record belongs to, carried in contextvars set where a
turn starts, stamped on every record by `ContextFilter` and printed by `LogFormatter` as readable
text or as one JSON object a line (OPENCLAW_LOG_FORMAT=json)."""

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

run_id_var: ContextVar[str] = ContextVar("openclaw_run_id", default="")
session_key_var: ContextVar[str] = ContextVar("openclaw_session_key", default="")


@contextmanager
def log_context(run_id: str, session_key: str) -> Iterator[None]:
    """Every record logged inside (also from tasks and threads started inside) names this run
    and session."""
    run_token = run_id_var.set(run_id)
    session_token = session_key_var.set(session_key)
    try:
        yield
    finally:
        session_key_var.reset(session_token)
        run_id_var.reset(run_token)


class ContextFilter(logging.Filter):
    """Stamps `run_id` and `session` on each record (empty outside a turn)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "run_id", ""):
            record.run_id = run_id_var.get()
        if not getattr(record, "session", ""):
            record.session = session_key_var.get()
        return True


class LogFormatter(logging.Formatter):
    """`time LEVEL logger: message [run=… session=…]`, or with `as_json=True` one JSON object a
    line: ts, level, logger, message, run_id, session (when set), exc (when there is one)."""

    def __init__(self, *, as_json: bool = False) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self.as_json = as_json

    def format(self, record: logging.LogRecord) -> str:
        run_id = str(getattr(record, "run_id", "") or "")
        session = str(getattr(record, "session", "") or "")
        if not self.as_json:
            text = super().format(record)
            ids = " ".join(
                f"{name}={value}"
                for name, value in (("run", run_id), ("session", session))
                if value
            )
            if not ids:
                return text
            first, newline, rest = text.partition("\n")
            return f"{first} [{ids}]{newline}{rest}"
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if run_id:
            line["run_id"] = run_id
        if session:
            line["session"] = session
        # exc_text first: the redaction filter leaves the masked traceback there.
        if record.exc_text:
            line["exc"] = record.exc_text
        elif record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def logging_settings(level: str, *, as_json: bool) -> dict[str, Any]:
    """Django's LOGGING: every record through `LogFormatter`, stamped with its run and session
    and with secrets masked (openclaw/redact.py), on the real stderr."""
    return {
        "version": 1,
        # get_asgi_application() re-runs logging setup; keep the loggers already created.
        "disable_existing_loggers": False,
        "formatters": {
            "structured": {
                "()": "openclaw.logging.LogFormatter",
                "as_json": as_json,
            }
        },
        "filters": {
            # The run and session of the turn a record comes from (openclaw/logging.py).
            "run_context": {"()": "openclaw.logging.ContextFilter"},
            # Masks keys, tokens and passwords in every record (openclaw/redact.py).
            "redact_secrets": {"()": "openclaw.redact.RedactSecretsFilter"},
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                # The real stderr: Twisted swaps sys.stderr for a log file object once Daphne runs,
                # and a later logging set-up (Celery's Django fix-up calls django.setup() when the
                # admin's periodic task form lists tasks) would otherwise write into it, unseen.
                "stream": "ext://sys.__stderr__",
                "formatter": "structured",
                "filters": ["run_context", "redact_secrets"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        # The HTTP clients log every request at INFO: one line per model call that says nothing
        # a failure would not, formatted and redacted at every call; their warnings still show.
        "loggers": {
            "django": {"level": "WARNING"},
            "daphne": {"level": "WARNING"},
            "httpx": {"level": "WARNING"},
            "httpx2": {"level": "WARNING"},
        },
    }
