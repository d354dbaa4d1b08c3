"""``PluginTask``: a task with no Python body, which a task plugin runs from its template.

A plugin's SDK half subclasses it for its kind of task (``wingspan_presto.TrinoTask``: a SQL
query): it names the task type its plugin serves, the typed inputs and outputs, and the
fields the plugin reads (``custom``: plain values, stored in the template). The task then
works like any other: it is a node in a workflow, is registered with it, caches by its
inputs, and runs wherever the plugin serving its type runs (the server's engine, or a local
run when the plugin is installed here).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from wingspan._authoring.entity import Entity
from wingspan._authoring.interface import PythonInterface
from wingspan._authoring.naming import caller_module
from wingspan._authoring.task import TaskOptions, as_timedelta
from wingspan._authoring.workflow import run_called
from wingspan.core.errors import CompilationError, ConfigError
from wingspan.core.model.interface import Identifier, ResourceType, TypedInterface, Variable
from wingspan.core.model.literals import LiteralMap
from wingspan.core.model.tasks import CacheSettings, TaskMetadata, TaskTemplate
from wingspan.core.model.workflows import TaskNode
from wingspan.core.types import UnsupportedTypeError, default_engine
from wingspan.core.version import VERSION

__all__ = ["PluginTask"]


class PluginTask(Entity):
    """A task of type ``task_type`` that the plugin serving that type runs from ``custom``.

    ``outputs`` are by name; one output makes the task return that value, several a tuple.
    ``problems`` are the subclass's own findings, reported with the options' all at once.
    The options are ``@task``'s (retries, timeout, cache, cache_version, target, ...); the
    default cache version is a digest of the task type and ``custom``, so changing the query
    changes it.
    """

    kind_label = "plugin task"

    def __init__(self, name: str, task_type: str, custom: Mapping[str, Any], *,
                 inputs: Mapping[str, Any] | None = None, outputs: Mapping[str, Any] | None = None,
                 problems: Sequence[str] = (), **options: Any) -> None:
        self.name = name
        # where it was made: discovery tells it from one imported from elsewhere
        self.defined_in = caller_module(self)
        self.task_type = task_type
        self.custom = dict(custom)
        where = f"{self.kind_label} {name!r}"
        found = list(problems)
        if not isinstance(name, str) or not name:
            found.append(f"a {self.kind_label} needs a name")
        self.options = TaskOptions(**options)
        engine = default_engine()
        typed: dict[str, list[Variable]] = {"input": [], "output": []}
        for label, given in (("input", inputs or {}), ("output", outputs or {})):
            for var, py_type in given.items():
                try:
                    literal_type = engine.literal_type(py_type, where=f"{where}, {label} {var!r}")
                    typed[label].append(Variable(var, literal_type))
                except UnsupportedTypeError as exc:
                    found.append(str(exc))
        try:
            json.dumps(self.custom)
        except TypeError as exc:
            found.append(f"{where}: its settings must be plain values (str, numbers, lists, dicts): {exc}")
        found += self.options.problems(where, dict(inputs or {}))
        if found:
            raise CompilationError(found)
        style = "none" if not outputs else "single" if len(outputs) == 1 else "tuple"
        self.interface = PythonInterface(
            inputs=dict(inputs or {}), outputs=dict(outputs or {}), output_style=style,
            typed=TypedInterface(tuple(typed["input"]), tuple(typed["output"]), style))
        self._template: TaskTemplate | None = None

    @property
    def id(self) -> Identifier:
        return Identifier(ResourceType.TASK, name=self.name)

    @property
    def digest(self) -> str:
        """What the task does: its type and settings (its default cache version)."""
        text = json.dumps([self.task_type, self.custom], sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    @property
    def template(self) -> TaskTemplate:
        if self._template is None:
            opts = self.options
            cache = (CacheSettings(True, opts.cache_version or self.digest, opts.cache_serialize,
                                   opts.cache_ignore_inputs) if opts.cache else None)
            metadata = TaskMetadata(opts.retries, as_timedelta(opts.timeout), cache, opts.interruptible,
                                    opts.docs, f"wingspan {VERSION}", opts.target)
            from wingspan.core.types.purity import to_literal_now

            custom = LiteralMap({k: to_literal_now(v, type(v), k) for k, v in self.custom.items()})
            self._template = TaskTemplate(id=self.id, type=self.task_type, metadata=metadata,
                                          interface=self.interface.typed, custom=custom)
        return self._template

    def node_kind_and_target(self) -> tuple[str, Any]:
        return "task_node", TaskNode(task_id=self.id)

    def run_command(self, inputs: dict[str, Any]) -> dict[str, Any]:
        """Reached only when no installed plugin serves the task's type."""
        raise ConfigError(f"{self.kind_label} {self.name!r} has task type {self.task_type!r}, which no "
                          "installed plugin serves here; install the plugin that provides it "
                          "(`wingspan plugins list` shows what loaded)")

    def run_local(self, values: dict[str, Any]) -> Any:
        return run_called(self, values)
