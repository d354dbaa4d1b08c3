"""Input values as the typed literals of ``EXECUTE name USING ...``: the query text is the
prepared statement with its ``?`` markers, sent apart (``X-Trino-Prepared-Statement``); the
values only ever appear here, each as a literal of its type, text quoted with its quotes
doubled (SQL's only escape in a string literal), so a value cannot end its literal."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

__all__ = ["sql_literal"]


def sql_literal(value: Any) -> str:
    """A typed SQL literal of ``value`` (None, bool, int, float, str, datetime)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"BIGINT '{int(value)}'"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan()"
        if math.isinf(value):
            return "infinity()" if value > 0 else "-infinity()"
        return f"DOUBLE '{value!r}'"
    if isinstance(value, str):
        return "VARCHAR '" + value.replace("'", "''") + "'"
    if isinstance(value, dt.datetime):
        text = value.isoformat(sep=" ", timespec="microseconds")
        if value.tzinfo is not None:  # '+00:00' as the zone, which Trino reads
            return f"TIMESTAMP '{text[:-6]} {text[-6:]}'"
        return f"TIMESTAMP '{text}'"
    raise TypeError(f"a query parameter is None, bool, int, float, str or datetime, "
                    f"not {type(value).__name__}")
