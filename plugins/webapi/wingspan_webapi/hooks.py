"""The plugin's hooks (entry point ``webapi`` in the group ``wingspan``). Importing this module
loads no HTTP client: it comes with the first task."""

from __future__ import annotations

from collections.abc import Sequence

from wingspan.plugin import TaskPlugin, hookimpl
from wingspan_webapi._config import WebApiConfig


@hookimpl
def wingspan_config_schema() -> type:
    return WebApiConfig


@hookimpl
def wingspan_task_plugins(config: WebApiConfig) -> Sequence[TaskPlugin]:
    from wingspan_webapi._plugin import WebApiPlugin

    return [WebApiPlugin(config)]
