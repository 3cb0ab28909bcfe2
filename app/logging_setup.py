"""Structured logging: one JSON object per line when ``log.json_format`` is on."""

from __future__ import annotations

import json
import logging
import logging.config
import sys
from datetime import UTC, datetime
from typing import Any

from app.settings import LogSettings

# Attributes every LogRecord has; anything else came in through ``extra=``.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
}


class JsonFormatter(logging.Formatter):
    """``{"ts": ..., "level": ..., "logger": ..., "message": ..., **extra}``."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def logging_config(log: LogSettings) -> dict[str, Any] | None:
    """A ``logging.config.dictConfig`` for JSON lines, or None for Faust's console format."""
    if not log.json_format:
        return None
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": f"{__name__}.JsonFormatter"}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"level": log.level, "handlers": ["stderr"]},
    }


def configure_logging(log: LogSettings) -> None:
    """Set up logging for a process that is not a Faust worker (ingest, simulator):
    JSON lines or plain text on stderr, at the configured level."""
    config = logging_config(log)
    if config is not None:
        logging.config.dictConfig(config)
        return
    logging.basicConfig(
        level=log.level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
