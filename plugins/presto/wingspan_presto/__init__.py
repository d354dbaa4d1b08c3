"""Wingspan SQL tasks: queries on Trino and PrestoDB over their HTTP protocol, and on
PostgreSQL, SQLite and DuckDB through SQLAlchemy, run by the engine itself (no worker).

``TrinoTask``, ``PrestoTask`` and ``SQLTask`` are the tasks users write (a SQL template with
typed inputs, bound as parameters); ``QueryPlugin`` (task types ``trino`` and ``presto``) and
``SQLPlugin`` (``sql``) run them, configured by ``PrestoConfig`` (``[plugins.presto]``).
"""

from __future__ import annotations

from wingspan_presto._config import PrestoConfig
from wingspan_presto._query_plugin import QueryPlugin
from wingspan_presto._sql_plugin import SQLPlugin
from wingspan_presto._tasks import PrestoTask, SQLTask, TrinoTask

__all__ = ["PrestoConfig", "PrestoTask", "QueryPlugin", "SQLPlugin", "SQLTask", "TrinoTask"]
