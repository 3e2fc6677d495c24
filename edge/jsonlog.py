"""JSON-lines logging on stdout for journald: ids and states, never personal data."""

from __future__ import annotations

import logging
import sys
import time
from typing import Any, TextIO

import msgspec

_STANDARD = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys() | {"message", "asctime"}
)
_encoder = msgspec.json.Encoder(enc_hook=str)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg, then the record's `extra` fields."""

    def format(self, record: logging.LogRecord) -> str:
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        entry: dict[str, Any] = {
            "ts": f"{ts}.{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            entry["error_type"] = type(exc).__name__
            entry["traceback"] = self.formatException(record.exc_info)
        return _encoder.encode(entry).decode()


def setup(level: str = "info", stream: TextIO | None = None) -> None:
    """Route every `midas_edge.*` logger to JSON lines on `stream` (stdout by default)."""
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger("midas_edge")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False
