"""The hooks a Wingspan plugin may implement (pluggy project name ``wingspan``).

A plugin is a module (found through the entry-point group ``wingspan``) with functions
marked ``@hookimpl`` named after these specifications. Each hook says what kind it is:

- *stackable*: every plugin's answer is collected; all of them count.
- *single replaceable step*: the first plugin that answers (not None) decides; plugins
  are asked before the built-ins, so a plugin replaces the built-in step.
- *validator*: every plugin may reject; none can accept on behalf of another.

A hook that takes ``config`` receives the plugin's own configuration: its
``[plugins.<name>]`` table read into the schema it declares with
``wingspan_config_schema`` (None when it declares none). A hook may leave ``config`` out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from wingspan.core.config import Settings
    from wingspan.core.images.builders import ImageBuilder
    from wingspan.core.plugins.contract import TaskEnvironment, TaskPlugin
    from wingspan.core.plugins.event_sinks import EventSink
    from wingspan.core.plugins.notifier import Notifier
    from wingspan.core.storage.interface import BlobStore
    from wingspan.core.types.transformer import TypeTransformer

__all__ = ["PROJECT", "hookimpl", "hookspec"]

PROJECT = "wingspan"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def wingspan_config_schema() -> type | None:
    """The type this plugin's configuration is read into: a dataclass or a pydantic model
    whose fields are the keys of its ``[plugins.<name>]`` table (and of its
    ``WINGSPAN_PLUGINS__<NAME>__<KEY>`` environment variables). A key it lacks, or a value
    that does not fit a field's type, is refused when the plugins load, naming the plugin
    and the key.

    One per plugin: discovery asks each plugin for its own schema.
    """


@hookspec
def wingspan_task_plugins(config: Any, settings: Settings) -> Sequence[TaskPlugin]:  # type: ignore[empty-body]
    """Task plugins (targets) this plugin provides, each serving some task types. A hook may
    take the platform's ``settings`` too (the whole configuration, as ``--config`` gave it):
    a target built on another plugin's settings (``spark-k8s`` on ``[plugins.k8s]``) reads
    that plugin's table from them.

    Stackable: every plugin's task plugins are registered. When several serve one task
    type, configuration chooses (``task_targets``, e.g. ``python=local-process``).
    """


@hookspec
def wingspan_task_environments(config: Any) -> Sequence[TaskEnvironment]:  # type: ignore[empty-body]
    """Task environments (``wingspan.plugin.TaskEnvironment``): what a plugin sets up around a
    Python task body of its task types, in the process that runs it (a Spark session as
    ``current_context().spark_session``), kept warm between attempts.

    Stackable: every one is entered, in registration order, around a body of its task types;
    a task type none serves runs its body as it would without plugins.
    """


@hookspec
def wingspan_type_transformers(config: Any) -> Sequence[TypeTransformer]:  # type: ignore[empty-body]
    """Type transformers for more Python types.

    Stackable: all are registered; a plugin's transformers are asked before the
    built-in ones, so a plugin may take over a type.
    """


@hookspec(firstresult=True)
def wingspan_blob_stores(uri: str, settings: Settings) -> BlobStore | None:
    """A blob store for the root ``uri`` (its scheme says which), or None.

    Single replaceable step: the first plugin that returns a store wins; the built-in
    implementation (``file://``, ``s3://``, ``abfs://``, ``gs://``) answers last.
    """


@hookspec
def wingspan_notifiers(config: Any, settings: Settings) -> Mapping[str, Notifier]:  # type: ignore[empty-body]
    """Notifiers by kind (``"email"``, ``"slack"``, ``"webhook"``, ``"pagerduty"``, or a new
    one), each a ``Notifier`` (``wingspan.plugin``): ``async send(target, notice)``, where
    ``target`` is the notification's settings (e.g. a WebhookNotification, or for a new kind its
    settings read into the notifier's ``settings`` schema) and ``notice`` a ``Notice``. A hook
    may take the plugin's ``config``, the platform's ``settings``, both or neither.
    ``send`` raises ``DeliveryError(message, retryable=...)`` when it fails; the server's
    outbox sender retries with backoff and records every attempt.

    Stackable: all are collected; for one kind, a later-registered plugin's notifier
    replaces an earlier one's (and a plugin's replaces the built-in one).
    """


@hookspec
def wingspan_event_sinks(config: Any, settings: Settings) -> Mapping[str, EventSink]:  # type: ignore[empty-body]
    """Event sinks by kind (``"webhook"``, ``"nats"``, or a new one), each an ``EventSink``
    (``wingspan.plugin``): ``async publish(event)`` of one ``CloudEvent``, ``async aclose()``.
    The server publishes its outward event stream to the kinds its ``event_sinks`` setting
    names; a sink is configured from its plugin's ``config`` (or the platform's ``settings``).

    Stackable: all are collected; for one kind, a later-registered plugin's sink replaces an
    earlier one's (and a plugin's replaces the built-in one).
    """


@hookspec
def wingspan_cli_commands() -> Mapping[str, Any]:  # type: ignore[empty-body]
    """Commands for the ``wingspan`` CLI: name -> a click command, or ``"module:attribute"``
    to load it on first use.

    Stackable: all are added; a plugin cannot replace a built-in command (it is
    reported as a conflict instead).
    """


@hookspec
def wingspan_image_builders(config: Any) -> Sequence[ImageBuilder]:  # type: ignore[empty-body]
    """Image builders (``ImageBuilder``: a name, ``unavailable()``, ``build_and_push(spec,
    context, build_file)``) for ``wingspan build``, which builds each ImageSpec its tasks use.

    Stackable: all are collected; ``wingspan build`` uses the one ``--builder`` names, else
    the first that can build on this machine, plugins' before the built-in buildah.
    """
