"""The plugins' task environments installed in this process, entered around a Python task
body of their task types wherever a body runs (the in-process executor, a local-process
worker, a pod). A task type that none serves costs one dictionary lookup per attempt.

Environments live as long as the process: they may keep a JVM or a cluster warm between
attempts, and are closed when it exits.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import threading
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from wingspan.core.engine.context import PROVIDERS, ExecutionContext, PluginValues

if TYPE_CHECKING:
    from wingspan.core.model.tasks import TaskTemplate
    from wingspan.core.plugins.contract import TaskEnvironment

__all__ = ["close_environments", "entered", "install_environments", "installed"]

_log = logging.getLogger("wingspan.plugins")
_lock = threading.Lock()
_BY_TYPE: dict[str, tuple[TaskEnvironment, ...]] = {}
_ALL: list[TaskEnvironment] = []
_KEYS: set[tuple[str, str, str]] = set()  # (plugin, module, class) of each installed one
_closing_registered = False


def install_environments(environments: Iterable[tuple[str, TaskEnvironment]]) -> int:
    """Installs (plugin name, environment) pairs for their task types. Plugins discovered a
    second time in one process (a local run beside a server) bring new objects of the same
    environments: the ones installed first are kept, with their warm state. Returns how many
    were added."""
    global _closing_registered
    added = 0
    with _lock:
        for plugin, environment in environments:
            key = (plugin, type(environment).__module__, type(environment).__qualname__)
            if key in _KEYS:
                continue
            _KEYS.add(key)
            _ALL.append(environment)
            for task_type in environment.task_types:
                _BY_TYPE[task_type] = (*_BY_TYPE.get(task_type, ()), environment)
            types = ", ".join(repr(t) for t in environment.task_types)
            for name in environment.provides:
                PROVIDERS.setdefault(name, f"plugin {plugin!r} to tasks of type {types}")
            added += 1
        if added and not _closing_registered:
            atexit.register(close_environments)
            _closing_registered = True
    return added


def installed(task_type: str) -> tuple[TaskEnvironment, ...]:
    """The environments entered around a body of ``task_type`` (often none)."""
    return _BY_TYPE.get(task_type, ())


@contextlib.contextmanager
def entered(template: TaskTemplate, context: ExecutionContext) -> Iterator[ExecutionContext]:
    """Enters the environments of the template's task type, in order, and gives ``context``
    what they yield for the attempt; leaves them (last first) when the attempt ends."""
    environments = _BY_TYPE.get(template.type, ())
    if not environments:
        yield context
        return
    values: dict[str, Any] = {}
    with contextlib.ExitStack() as stack:
        for environment in environments:
            values.update(stack.enter_context(environment.enter(template, context)))
        context.plugin_values = PluginValues(template.type, values)
        try:
            yield context
        finally:
            context.plugin_values = None


def close_environments() -> None:
    """Closes every installed environment (at process exit; also for tests)."""
    with _lock:
        environments = list(_ALL)
        _ALL.clear()
        _KEYS.clear()
        _BY_TYPE.clear()
    for environment in reversed(environments):
        try:
            environment.close()
        except Exception:  # one that fails to close must not keep the others open
            _log.exception("closing task environment %r failed", environment)
