"""Plugin discovery: an explicit call that loads the built-ins and every distribution
registered under the entry-point group ``wingspan``, and reports what loaded and what
failed. A plugin that fails (its import raises, a hook has a wrong signature or an
unknown name, a hook raises or returns the wrong kind of object) is reported by name
with its error and left out; the others still load. Nothing here runs at import.

Each plugin's configuration (its ``[plugins.<name>]`` table) is read into the schema it
declares and handed to its hooks; a bad value is the user's error, not the plugin's, so it
stops the loading with a ConfigError naming the plugin and the key.
"""

from __future__ import annotations

import importlib.metadata
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pluggy

from wingspan.core.config import Settings, plugin_key
from wingspan.core.errors import ConfigError, WingspanError
from wingspan.core.images.builders import ImageBuilder
from wingspan.core.plugins import hookspecs
from wingspan.core.plugins.config import is_config_schema, read_plugin_config
from wingspan.core.plugins.contract import TaskEnvironment, TaskPlugin
from wingspan.core.plugins.event_sinks import EventSink
from wingspan.core.plugins.notifier import Notifier
from wingspan.core.plugins.registry import TaskPluginRegistry, parse_targets
from wingspan.core.types.transformer import TypeTransformer

if TYPE_CHECKING:
    from wingspan.core.storage.interface import BlobStore
    from wingspan.core.types.engine import TypeEngine

__all__ = ["LoadedPlugin", "PluginFailure", "PluginLoadError", "Plugins", "load_for_bodies", "load_plugins"]

_log = logging.getLogger(__name__)

BUILTIN = "builtin"
_HOOKS = ("wingspan_config_schema", "wingspan_task_plugins", "wingspan_task_environments",
          "wingspan_type_transformers", "wingspan_notifiers", "wingspan_cli_commands",
          "wingspan_blob_stores", "wingspan_image_builders", "wingspan_event_sinks")


class PluginLoadError(WingspanError):
    """A plugin could not be loaded; the report names it and the cause is chained."""


@dataclass(frozen=True)
class LoadedPlugin:
    """A plugin that loaded: its name, distribution, version and what it provides."""

    name: str
    distribution: str
    version: str
    # kind ("task plugins", "type transformers", ...) -> the names of what it added
    provides: Mapping[str, tuple[str, ...]]

    def summary(self) -> str:
        parts = [f"{kind}: {', '.join(names)}" for kind, names in self.provides.items() if names]
        return "; ".join(parts) or "nothing"


@dataclass(frozen=True)
class PluginFailure:
    """A plugin that failed: where (import, registration, a hook) and the error."""

    name: str
    distribution: str
    version: str
    stage: str
    error: str
    exception: BaseException | None = field(default=None, compare=False, repr=False)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _task_plugin_name(plugin: TaskPlugin) -> str:
    return f"{plugin.name} ({', '.join(plugin.task_types)})"


class Plugins:
    """What discovery found: the report, and the contributions of the plugins that loaded."""

    def __init__(self, manager: pluggy.PluginManager) -> None:
        self.manager = manager
        self.loaded: list[LoadedPlugin] = []
        self.failed: list[PluginFailure] = []
        self.task_plugins: list[TaskPlugin] = []
        # (plugin name, environment): set up around bodies of its task types where they run
        self.environments: list[tuple[str, TaskEnvironment]] = []
        self.transformers: list[tuple[str, TypeTransformer]] = []
        self.notifiers: dict[str, Notifier] = {}
        # the outward event stream's sinks by kind (the server uses those event_sinks names)
        self.event_sinks: dict[str, EventSink] = {}
        self.cli_commands: dict[str, Any] = {}
        # (provider, builder), in load order: the built-in plugin's first
        self.image_builders: list[tuple[str, ImageBuilder]] = []
        # plugin name -> its configuration, read into the schema it declares
        self.configs: dict[str, Any] = {}

    def registry(self, targets: str | Mapping[str, str] = "") -> TaskPluginRegistry:
        """Task plugins by task type, with ``targets`` choosing among several for a type."""
        choices = parse_targets(targets) if isinstance(targets, str) else dict(targets)
        return TaskPluginRegistry(self.task_plugins, choices)

    def builders(self) -> list[ImageBuilder]:
        """The image builders, plugins' before the built-in one (a plugin's is preferred)."""
        return ([b for provider, b in self.image_builders if provider != BUILTIN]
                + [b for provider, b in self.image_builders if provider == BUILTIN])

    def install_transformers(self, engine: TypeEngine | None = None) -> int:
        """Registers the plugins' transformers (not the built-ins, which the engine has) in
        ``engine`` (default: the process-wide one), ahead of the built-ins. Returns how many."""
        from wingspan.core.types import default_engine

        engine = engine or default_engine()
        present = {id(t) for t in engine.transformers}
        added = 0
        for provider, transformer in reversed(self.transformers):
            if provider != BUILTIN and id(transformer) not in present:
                engine.register(transformer, first=True)
                added += 1
        return added

    def install_environments(self) -> int:
        """Installs the plugins' task environments in this process, so that every body of
        their task types run here is entered into them. Returns how many were added."""
        from wingspan.core.engine.task_environments import install_environments

        return install_environments(self.environments)

    def open_blob_store(self, uri: str, settings: Settings) -> BlobStore:
        """The blob store for the root ``uri``: the first plugin that serves its scheme."""
        try:
            store: BlobStore | None = self.manager.hook.wingspan_blob_stores(uri=uri, settings=settings)
        except WingspanError:
            raise
        except Exception as exc:
            raise PluginLoadError(f"a wingspan_blob_stores hook failed for {uri}: {_describe(exc)}") from exc
        if store is None:
            raise ConfigError(f"no installed plugin serves blob store URIs like {uri}")
        return store

    async def aclose(self) -> None:
        for plugin in self.task_plugins:
            await plugin.aclose()


# ---- discovery -------------------------------------------------------------------------------------


def _hookimpl_names(plugin: object) -> list[str]:
    marker = f"{hookspecs.PROJECT}_impl"
    return [name for name in dir(plugin) if hasattr(getattr(plugin, name, None), marker)]


def _configure(plugins: Plugins, name: str, plugin: object, settings: Settings) -> Any:
    """The plugin's configuration: its table read into the schema it declares (None when it
    declares none). Raises _HookError when the hook misbehaves, ConfigError when the table
    does not fit."""
    table = settings.plugin_table(name)
    for impl in plugins.manager.hook.wingspan_config_schema.get_hookimpls():
        if impl.plugin is plugin:
            try:
                schema = impl.function()
            except Exception as exc:
                raise _HookError("wingspan_config_schema", _describe(exc)) from exc
            if schema is None:  # it says it takes none
                break
            if not is_config_schema(schema):
                raise _HookError("wingspan_config_schema", f"returned {schema!r}, which is neither a "
                                 "dataclass nor a pydantic model")
            return read_plugin_config(name, schema, table)
    if table.values:
        keys = sorted(table.values)
        raise ConfigError(f"plugin {name!r} takes no configuration, yet {', '.join(keys)} "
                          f"{'is' if len(keys) == 1 else 'are'} set for it ({table.where(keys[0])}); "
                          "remove them")
    return None


def _collect(plugins: Plugins, name: str, plugin: object, config: Any,
             settings: Settings | None = None) -> dict[str, tuple[str, ...]]:
    """Calls the stackable hooks of one plugin; raises naming the hook when one fails."""
    provides: dict[str, tuple[str, ...]] = {}
    hooks = plugins.manager.hook
    tasks: list[TaskPlugin] = []
    environments: list[TaskEnvironment] = []
    transformers: list[TypeTransformer] = []
    notifiers: dict[str, Notifier] = {}
    sinks: dict[str, EventSink] = {}
    commands: dict[str, Any] = {}
    builders: list[ImageBuilder] = []
    for impl in hooks.wingspan_task_plugins.get_hookimpls():
        if impl.plugin is plugin:
            for item in _call(impl, "wingspan_task_plugins", config, settings):
                if not isinstance(item, TaskPlugin) or not item.name or not item.task_types:
                    raise _HookError("wingspan_task_plugins", f"returned {item!r}, which is not a TaskPlugin "
                                     "with a name and task_types")
                tasks.append(item)
    for impl in hooks.wingspan_task_environments.get_hookimpls():
        if impl.plugin is plugin:
            for item in _call(impl, "wingspan_task_environments", config):
                if not isinstance(item, TaskEnvironment) or not item.task_types:
                    raise _HookError("wingspan_task_environments", f"returned {item!r}, which is not a "
                                     "TaskEnvironment with task_types")
                environments.append(item)
    for impl in hooks.wingspan_type_transformers.get_hookimpls():
        if impl.plugin is plugin:
            for item in _call(impl, "wingspan_type_transformers", config):
                if not isinstance(item, TypeTransformer):
                    raise _HookError("wingspan_type_transformers", f"returned {item!r}, which is not a "
                                     "TypeTransformer")
                transformers.append(item)
    for impl in hooks.wingspan_notifiers.get_hookimpls():
        if impl.plugin is plugin:
            for kind, notifier in _call_mapping(impl, "wingspan_notifiers", config, settings).items():
                if not isinstance(notifier, Notifier):
                    raise _HookError("wingspan_notifiers", f"returned {notifier!r} for {kind!r}, which is "
                                     "not a Notifier (it has no async send(target, notice))")
                notifiers[kind] = notifier
    for impl in hooks.wingspan_event_sinks.get_hookimpls():
        if impl.plugin is plugin:
            for kind, sink in _call_mapping(impl, "wingspan_event_sinks", config, settings).items():
                if not isinstance(sink, EventSink):
                    raise _HookError("wingspan_event_sinks", f"returned {sink!r} for {kind!r}, which is "
                                     "not an EventSink (it has no async publish(event) and aclose())")
                sinks[kind] = sink
    for impl in hooks.wingspan_cli_commands.get_hookimpls():
        if impl.plugin is plugin:
            for command, target in _call_mapping(impl, "wingspan_cli_commands", config).items():
                if command in plugins.cli_commands:
                    raise _HookError("wingspan_cli_commands", f"command {command!r} is already provided")
                commands[command] = target
    for impl in hooks.wingspan_image_builders.get_hookimpls():
        if impl.plugin is plugin:
            for item in _call(impl, "wingspan_image_builders", config):
                if not isinstance(item, ImageBuilder) or not getattr(item, "name", ""):
                    raise _HookError("wingspan_image_builders", f"returned {item!r}, which is not an "
                                     "ImageBuilder with a name")
                builders.append(item)
    plugins.task_plugins += tasks
    plugins.image_builders += [(name, b) for b in builders]
    plugins.environments += [(name, e) for e in environments]
    plugins.transformers += [(name, t) for t in transformers]
    plugins.notifiers.update(notifiers)
    plugins.event_sinks.update(sinks)
    plugins.cli_commands.update(commands)
    provides["task plugins"] = tuple(_task_plugin_name(t) for t in tasks)
    provides["task environments"] = tuple(f"{type(e).__name__} ({', '.join(e.task_types)})"
                                          for e in environments)
    provides["type transformers"] = tuple(t.name or type(t).__name__ for t in transformers)
    provides["notifiers"] = tuple(notifiers)
    provides["event sinks"] = tuple(sinks)
    provides["cli commands"] = tuple(commands)
    provides["image builders"] = tuple(b.name for b in builders)
    if any(i.plugin is plugin for i in hooks.wingspan_blob_stores.get_hookimpls()):
        provides["blob stores"] = ("(by URI)",)
    return provides


class _HookError(Exception):
    def __init__(self, hook: str, message: str) -> None:
        super().__init__(message)
        self.hook = hook


def _invoke(impl: pluggy.HookImpl, config: Any, settings: Settings | None = None) -> Any:
    # a hook may take the plugin's configuration (and the notifiers' the platform's settings),
    # or leave them out
    given = {"config": config, "settings": settings}
    return impl.function(**{name: given[name] for name in impl.argnames if name in given})


def _call(impl: pluggy.HookImpl, hook: str, config: Any, settings: Settings | None = None) -> list[Any]:
    try:
        result = _invoke(impl, config, settings)
    except Exception as exc:
        raise _HookError(hook, _describe(exc)) from exc
    if result is None:
        return []
    if not isinstance(result, Iterable) or isinstance(result, (str, bytes, Mapping)):
        raise _HookError(hook, f"returned {result!r}; it should return a list")
    return list(result)


def _call_mapping(impl: pluggy.HookImpl, hook: str, config: Any,
                  settings: Settings | None = None) -> dict[str, Any]:
    try:
        result = _invoke(impl, config, settings)
    except Exception as exc:
        raise _HookError(hook, _describe(exc)) from exc
    if result is None:
        return {}
    if not isinstance(result, Mapping):
        raise _HookError(hook, f"returned {result!r}; it should return a dict of name -> object")
    return dict(result)


def _register(plugins: Plugins, plugin: object, name: str, distribution: str, version: str,
              settings: Settings) -> None:
    manager = plugins.manager
    try:
        unknown = [h for h in _hookimpl_names(plugin) if h not in _HOOKS]
        if unknown:
            raise pluggy.PluginValidationError(
                plugin, f"unknown hooks {unknown}; the hooks are: {', '.join(_HOOKS)}")
        manager.register(plugin, name=name)
    except Exception as exc:
        plugins.failed.append(PluginFailure(name, distribution, version, "register", _describe(exc), exc))
        return
    try:
        config = _configure(plugins, name, plugin, settings)
        provides = _collect(plugins, name, plugin, config, settings)
    except _HookError as exc:
        manager.unregister(plugin)
        plugins.failed.append(PluginFailure(name, distribution, version, exc.hook, str(exc), exc))
        return
    except ConfigError:
        manager.unregister(plugin)
        raise
    if config is not None:
        plugins.configs[name] = config
    plugins.loaded.append(LoadedPlugin(name, distribution, version, provides))


def load_plugins(*, entry_points: bool = True, extra: Sequence[tuple[str, object]] = (),
                 group: str = hookspecs.PROJECT, settings: Settings | None = None) -> Plugins:
    """Loads the built-in plugin, then each entry point of ``group`` (unless
    ``entry_points`` is False), then ``extra`` (name, module-or-object) pairs; returns what
    loaded and what failed. Call it once when a CLI command or the server starts.

    Each plugin gets its table of ``settings`` (default: ``Settings.load()``, the config
    file and environment); a table that does not fit its plugin's schema raises ConfigError.
    A table no loaded plugin is named after is logged (the plugin may be missing here)."""
    from wingspan.core.plugins import builtin

    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    plugins = Plugins(manager)
    settings = settings or Settings.load()
    version = _version("wingspan")
    _register(plugins, builtin, BUILTIN, "wingspan", version, settings)
    if entry_points:
        for entry in sorted(importlib.metadata.entry_points(group=group), key=lambda e: e.name):
            dist = entry.dist.name if entry.dist is not None else ""
            dist_version = entry.dist.version if entry.dist is not None else ""
            if manager.has_plugin(entry.name):
                plugins.failed.append(PluginFailure(entry.name, dist, dist_version, "import",
                                                    f"another plugin is already named {entry.name!r}"))
                continue
            try:
                loaded = entry.load()
            except (Exception, SystemExit) as exc:
                plugins.failed.append(PluginFailure(entry.name, dist, dist_version, "import",
                                                    _describe(exc), exc))
                continue
            _register(plugins, loaded, entry.name, dist, dist_version, settings)
    for name, obj in extra:
        _register(plugins, obj, name, "", "", settings)
    known = {plugin_key(p.name) for p in plugins.loaded} | {plugin_key(f.name) for f in plugins.failed}
    for table in sorted(set(settings.plugins) - known):
        _log.warning("the configuration has settings for plugin %r, which is not installed here", table)
    return plugins


# the task types whose bodies need no plugin: a worker running only these never loads any
_BUILT_IN_BODIES = frozenset({"python", "dynamic", "eager"})
_for_bodies: Plugins | None = None


def load_for_bodies(task_type: str) -> None:
    """In a process that runs task bodies and loaded no plugins (a local-process worker, a
    pod's ``wingspan execute``): loads them once, when a body of a type that is not built
    in arrives, and installs their type transformers and task environments here."""
    global _for_bodies
    if _for_bodies is not None or task_type in _BUILT_IN_BODIES:
        return
    plugins = load_plugins()
    for failure in plugins.failed:
        _log.warning("plugin %r (%s) did not load (%s): %s", failure.name, failure.distribution or "?",
                     failure.stage, failure.error)
    plugins.install_transformers()
    plugins.install_environments()
    _for_bodies = plugins


def _version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return ""
