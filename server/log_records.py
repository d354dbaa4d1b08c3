"""How the server writes its log lines: text for people, or one JSON object a line for collectors.

A JSON line holds the time (UTC, ISO 8601), level, logger and message, the execution, node
and attempt of the work in progress where known (kept by the engine in context variables:
:func:`wingspan.core.tracing.log_fields`), and the trace and span ids when tracing is on, so
that a collector joins the line to its execution and its trace.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from wingspan.core import tracing
from wingspan.core.errors import ConfigError

__all__ = ["LOG_FORMATS", "JsonLogFormatter", "configure_logging"]

LOG_FORMATS = ("text", "json")
_TEXT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonLogFormatter(logging.Formatter):
    """One JSON object per record, with the execution, node, attempt and trace ids known."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(tracing.current_log_fields())
        tracer = tracing.installed()
        ids = tracer.trace_ids() if tracer is not None else None
        if ids is not None:
            entry["trace_id"], entry["span_id"] = ids
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(log_format: str, level: int) -> None:
    """The root logger's handler (standard error) in ``log_format``; the engine keeps its log
    fields from now on."""
    if log_format not in LOG_FORMATS:
        raise ConfigError(f"log_format {log_format!r} is not known: choose one of {', '.join(LOG_FORMATS)}")
    handler = logging.StreamHandler()
    handler.setFormatter(JsonLogFormatter() if log_format == "json" else logging.Formatter(_TEXT))
    logging.basicConfig(level=level, handlers=[handler])
    tracing.keep_log_fields()
