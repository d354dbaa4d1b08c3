"""Which task plugin runs each task type: the candidates the plugins provide, and the
configured choice among them (``task_targets``, e.g. ``python=local-process``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from wingspan.core.errors import ConfigError
from wingspan.core.plugins.contract import TaskPlugin

__all__ = ["DEFAULT_TARGETS", "TaskPluginRegistry", "parse_targets"]

#: the choice when configuration names none: Python tasks run in this process, and so do
#: container tasks' commands (an installed cluster plugin serving them is chosen by configuration)
DEFAULT_TARGETS: dict[str, str] = {"python": "in-process", "container": "in-process"}


def parse_targets(text: str, where: str = "task_targets") -> dict[str, str]:
    """``"python=local-process, spark=spark-k8s"`` -> ``{"python": "local-process", ...}``;
    a bare name (``"local-process"``) chooses the target of Python tasks; ``python@ml=k8s``
    chooses it for the tasks of project ``ml`` only."""
    choices: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        task_type, sep, name = part.partition("=")
        if not sep:
            task_type, name = "python", task_type
        if not task_type.strip() or not name.strip():
            raise ConfigError(f"{where}: {part!r} should read TASK_TYPE=TARGET, e.g. python=local-process")
        choices[task_type.strip()] = name.strip()
    return choices


class TaskPluginRegistry:
    """Task plugins by the task types they serve, with the configured choice per type."""

    def __init__(self, plugins: Iterable[TaskPlugin], choices: Mapping[str, str] | None = None) -> None:
        self._plugins = list(plugins)
        self._by_type: dict[str, list[TaskPlugin]] = {}
        for plugin in self._plugins:
            for task_type in plugin.task_types:
                self._by_type.setdefault(task_type, []).append(plugin)
        self._choices = {**DEFAULT_TARGETS, **(choices or {})}
        self._chosen: dict[str, TaskPlugin | None] = {}
        for task_type in choices or {}:
            # a choice nothing serves is an error now, not at the first task
            base, _, project = task_type.partition("@")
            self.choose(base, project)

    def choosing(self, task_type: str, name: str) -> TaskPluginRegistry:
        """The same plugins with ``name`` chosen for ``task_type`` (a per-execution override);
        raises ConfigError when no plugin of that name serves the type."""
        return TaskPluginRegistry(self._plugins, {**self._choices, task_type: name})

    def named(self, task_type: str, name: str, where: str = "task_targets") -> TaskPlugin:
        """The plugin called ``name``, which must serve ``task_type``."""
        candidates = self._by_type.get(task_type, [])
        chosen = next((p for p in candidates if p.name == name), None)
        if chosen is None:
            names = ", ".join(p.name for p in candidates) or "none (no installed plugin serves it)"
            raise ConfigError(f"{where}: no plugin named {name!r} serves task type {task_type!r}; "
                              f"the plugins that do: {names}")
        return chosen

    @property
    def plugins(self) -> list[TaskPlugin]:
        return list(self._plugins)

    def task_types(self) -> list[str]:
        return sorted(self._by_type)

    def serving(self, task_type: str) -> list[TaskPlugin]:
        """Every plugin that can run ``task_type``, in registration order."""
        return list(self._by_type.get(task_type, ()))

    def choose(self, task_type: str, project: str = "") -> TaskPlugin | None:
        """The plugin that runs ``task_type`` (in ``project``): the one configured for the
        project, else for the type, else the last registered (a plugin's over a built-in's);
        None when no plugin serves the type."""
        if project and f"{task_type}@{project}" in self._choices:
            return self.named(task_type, self._choices[f"{task_type}@{project}"])
        try:
            return self._chosen[task_type]
        except KeyError:
            pass
        candidates = self._by_type.get(task_type, [])
        wanted = self._choices.get(task_type)
        chosen: TaskPlugin | None
        if wanted:
            chosen = next((p for p in candidates if p.name == wanted), None)
            if chosen is None:
                names = ", ".join(p.name for p in candidates) or "none (no installed plugin serves it)"
                raise ConfigError(f"task_targets: no plugin named {wanted!r} serves task type {task_type!r}; "
                                  f"the plugins that do: {names}")
        else:
            chosen = candidates[-1] if candidates else None
        self._chosen[task_type] = chosen
        return chosen
