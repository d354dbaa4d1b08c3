"""The plugin's hooks (entry point ``presto`` in the group ``wingspan``). Importing this module
loads neither httpx's client nor SQLAlchemy's engines: they come with the first task."""

from __future__ import annotations

from collections.abc import Sequence

from wingspan.plugin import TaskPlugin, hookimpl
from wingspan_presto._config import PrestoConfig


@hookimpl
def wingspan_config_schema() -> type:
    return PrestoConfig


@hookimpl
def wingspan_task_plugins(config: PrestoConfig) -> Sequence[TaskPlugin]:
    from wingspan_presto._query_plugin import QueryPlugin
    from wingspan_presto._sql_plugin import SQLPlugin

    return [QueryPlugin(config), SQLPlugin(config)]
