"""Log lines of the API and the worker: text for a developer's terminal, or one JSON object a
line (LOG_FORMAT=json) for a log collector, each with the request id of the work it is about."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

from shared import tracing

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
# Loggers that their own CLIs (uvicorn, arq) give handlers before our code runs.
FOREIGN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "arq")
# Libraries that say at INFO what only their own developers need: fontTools' subsetter writes
# some 40 lines for every PDF notice, which buried the SMS lines of the README's walk.
CHATTY_LOGGERS = ("fontTools",)


class RequestIdFilter(logging.Filter):
    """Puts the current request id (or "-") on every record as `request_id`."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Annotate; never drops a record."""
        if not hasattr(record, "request_id"):
            record.request_id = tracing.current() or "-"
        return True


# The requests the clock and the probes make every few seconds: a line each at INFO buried the
# lines a person looks for (the SMS sent, an escalation). Answered well, they log at DEBUG.
ROUTINE_PATHS = frozenset(
    {
        "/v1/internal/sweep",
        "/v1/internal/deadlines/flag-due",
        "/healthz",
        "/readyz",
        "/metrics",
    }
)


class RoutineAtDebug(logging.Filter):
    """Turns the access-log line of a routine request (`ROUTINE_PATHS`) that succeeded into a
    DEBUG line: shown only when the log level is DEBUG. A failed one stays as it was."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Lower, and drop unless DEBUG is on; keep every other record as it is."""
        args = record.args
        if not (isinstance(args, tuple) and len(args) >= 5):
            return True  # not uvicorn's access line (client, method, path, version, status)
        path, status = str(args[2]).split("?", 1)[0], args[4]
        if path not in ROUTINE_PATHS or not isinstance(status, int) or status >= 400:
            return True
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger().isEnabledFor(logging.DEBUG)


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC, RFC 3339), level, logger, message, request id, and
    the traceback when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        """Render the record."""
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid = getattr(record, "request_id", None)
        if rid and rid != "-":
            line["request_id"] = rid
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def configure(level: str, fmt: str) -> None:
    """Send every log line to stderr in `fmt` ("text" or "json") at `level`, the lines of
    uvicorn and arq included."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    for name in FOREIGN_LOGGERS:
        logger = logging.getLogger(name)
        if logger.handlers:
            logger.handlers = [handler]
    for name in CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RoutineAtDebug) for f in access.filters):
        access.addFilter(RoutineAtDebug())
