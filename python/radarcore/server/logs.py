"""Structured logs: one JSON object per line on stderr, with the process id (several workers
share the stream) and, for API requests, the request id, method, path, status and duration.

>>> import logging
>>> record = logging.LogRecord("radarcore.server", logging.INFO, "", 0, "GET / 200", (), None)
>>> record.request_id = "req_1"
>>> line = JsonFormatter().format(record)
>>> line.startswith('{"time":'), line.endswith('"message":"GET / 200","request_id":"req_1"}')
(True, True)
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import orjson

__all__ = ["JsonFormatter", "configure_logging"]

_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """``{"time", "level", "logger", "pid", "message", ...extra fields, "exception"}``."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": round(record.created, 6),
            "level": record.levelname.lower(),
            "logger": record.name,
            "pid": record.process,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


def configure_logging(level: str = "INFO") -> None:
    """Send radarcore's and uvicorn's logs to stderr as JSON lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    for name in ("radarcore", "uvicorn.error"):
        target = logging.getLogger(name)
        target.handlers[:] = [handler]
        target.setLevel(level.upper())
        target.propagate = False
    logging.getLogger("uvicorn.access").disabled = True
