"""What a Wingspan plugin imports: ``from wingspan.plugin import ...``.

A plugin is a distribution registered under the entry-point group ``wingspan``; the entry
point names a module whose functions are marked ``@hookimpl`` and named after the hooks
(``wingspan.core.plugins.hookspecs`` says what each one is for)::

    from dataclasses import dataclass
    from wingspan.plugin import TaskPlugin, hookimpl

    @dataclass(frozen=True)
    class SparkConfig:                      # its [plugins.spark] table, checked when plugins load
        master: str = "local[*]"
        executors: int = 2

    @hookimpl
    def wingspan_config_schema() -> type:
        return SparkConfig

    @hookimpl
    def wingspan_task_plugins(config: SparkConfig) -> list[TaskPlugin]:
        return [SparkPlugin(config)]

What it offers, by kind of plugin:

- every plugin: ``hookimpl``; its configuration (``wingspan_config_schema`` returns a
  dataclass or a pydantic model; hooks that take ``config`` receive the plugin's
  ``[plugins.<name>]`` table read into it; ``read_plugin_config`` reads one outside a hook,
  from ``Settings.load().plugin_table(name)``); the errors (``ConfigError`` for bad
  settings, ``WingspanError`` and its tree).
- a task plugin: ``TaskPlugin`` (start / poll / abort, optionally watch), what it receives
  (``TaskContext``) and answers (``Handle``, ``TaskStatus``, ``TaskLog``), the optional
  abilities it declares by inheriting them (``ReadsLogs``, ``RunsChunks``), and the model types of that
  exchange (``TaskPhase``, ``ExecutionError``, ``ErrorKind``, ``Literal``, ``LiteralMap``,
  ``TaskTemplate``).
- a task environment (what a Python task body of the plugin's task types runs inside, in
  whichever process runs it, kept warm between attempts: a Spark session, a Dask client):
  ``TaskEnvironment`` (``enter(template, context)`` yields the values ``current_context()``
  then offers as attributes), from ``wingspan_task_environments``.
- a target for a task type whose body is Python (run inside the plugin's environment):
  subclass a built-in one with your ``name`` and ``task_types`` (``LocalProcessTarget``:
  warm worker processes, ``worker_key`` keeping attempts with the same settings on the
  same workers; ``InProcessTarget``: this process).
- a target that runs Python bodies in processes it starts itself (``mpirun``'s ranks):
  ``resolve_task`` (the task at a module and qualname, as a worker imports it) and
  ``load_for_bodies`` (the installed plugins' environments and types, in such a process).
- a type transformer: ``TypeTransformer``, ``TransferContext``, ``ValueMismatch``.
- a notifier: ``Notifier`` (``async send(target, notice)``, and optionally ``settings``, the schema
  of its notifications' settings), ``Notice``, ``DeliveryError``.
- an event sink (``wingspan_event_sinks``, where the outward event stream goes): ``EventSink``
  (``async publish(event)``, ``async aclose()``), ``CloudEvent``, ``DeliveryError``.
- a blob store: ``BlobStore``.
- an image builder (``wingspan_image_builders``): ``ImageBuilder``, building an ``ImageSpec``.

Plugins import this module, ``wingspan``'s public names (for their SDK half) and core; never
the server, the CLI or the SDK's private packages (``lint-imports`` checks wingspan_k8s).
This module loads only core modules, so a backend process does not load the SDK.
"""

from __future__ import annotations

from wingspan.core.config import PluginTable, Settings
from wingspan.core.errors import ConfigError, NonRetryableError, UserError, WingspanError
from wingspan.core.images.builders import ImageBuilder
from wingspan.core.images.spec import ImageSpec
from wingspan.core.model.execution import ExecutionError, TaskPhase
from wingspan.core.model.literals import ErrorKind, Literal, LiteralMap
from wingspan.core.model.tasks import TaskTemplate
from wingspan.core.plugins.config import read_plugin_config
from wingspan.core.plugins.contract import (
    TERMINAL,
    Handle,
    ReadsLogs,
    RunsChunks,
    TaskContext,
    TaskEnvironment,
    TaskLog,
    TaskPlugin,
    TaskStatus,
)
from wingspan.core.plugins.event_sinks import CloudEvent, EventSink
from wingspan.core.plugins.hookspecs import hookimpl
from wingspan.core.plugins.inprocess_target import InProcessTarget
from wingspan.core.plugins.localproc.target import LocalProcessTarget
from wingspan.core.plugins.localproc.worker import resolve_task
from wingspan.core.plugins.manager import load_for_bodies
from wingspan.core.plugins.notifier import DeliveryError, Notice, Notifier
from wingspan.core.storage.interface import BlobStore
from wingspan.core.types.transformer import TransferContext, TypeTransformer, ValueMismatch

__all__ = [
    "TERMINAL",
    "BlobStore",
    "CloudEvent",
    "ConfigError",
    "DeliveryError",
    "ErrorKind",
    "EventSink",
    "ExecutionError",
    "Handle",
    "ImageBuilder",
    "ImageSpec",
    "InProcessTarget",
    "Literal",
    "LiteralMap",
    "LocalProcessTarget",
    "NonRetryableError",
    "Notice",
    "Notifier",
    "PluginTable",
    "ReadsLogs",
    "RunsChunks",
    "Settings",
    "TaskContext",
    "TaskEnvironment",
    "TaskLog",
    "TaskPhase",
    "TaskPlugin",
    "TaskStatus",
    "TaskTemplate",
    "TransferContext",
    "TypeTransformer",
    "UserError",
    "ValueMismatch",
    "WingspanError",
    "hookimpl",
    "load_for_bodies",
    "read_plugin_config",
    "resolve_task",
]
