"""Plugins: the pluggy hooks, discovery (``load_plugins()``, an explicit call), the
task-plugin contract and the registry that chooses a target per task type.

Names load on first use: ``import wingspan.core.plugins`` does not import pluggy.
A plugin module marks its hook functions with ``hookimpl``::

    from wingspan.core.plugins import hookimpl

    @hookimpl
    def wingspan_task_plugins():
        return [MyTarget()]
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wingspan.core.plugins.contract import (
        Handle,
        ReadsLogs,
        TaskContext,
        TaskLog,
        TaskPlugin,
        TaskStatus,
    )
    from wingspan.core.plugins.executor import PluginExecutor
    from wingspan.core.plugins.hookspecs import hookimpl, hookspec
    from wingspan.core.plugins.manager import (
        LoadedPlugin,
        PluginFailure,
        PluginLoadError,
        Plugins,
        load_plugins,
    )
    from wingspan.core.plugins.registry import TaskPluginRegistry, parse_targets

_HOMES = {
    "Handle": "contract", "ReadsLogs": "contract", "TaskContext": "contract", "TaskLog": "contract",
    "TaskPlugin": "contract", "TaskStatus": "contract", "PluginExecutor": "executor",
    "hookimpl": "hookspecs", "hookspec": "hookspecs",
    "LoadedPlugin": "manager", "PluginFailure": "manager", "PluginLoadError": "manager", "Plugins": "manager",
    "load_plugins": "manager", "TaskPluginRegistry": "registry", "parse_targets": "registry",
}

__all__ = [
    "Handle",
    "LoadedPlugin",
    "PluginExecutor",
    "PluginFailure",
    "PluginLoadError",
    "Plugins",
    "ReadsLogs",
    "TaskContext",
    "TaskLog",
    "TaskPlugin",
    "TaskPluginRegistry",
    "TaskStatus",
    "hookimpl",
    "hookspec",
    "load_plugins",
    "parse_targets",
]


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
    globals()[name] = value
    return value
