"""What a local run plugs into the engine besides the in-process defaults: the task
plugins (when a task type needs one, or a target is configured) and the cache (when a
task has ``cache=True``). Plugins are discovered once per process, on the first run
that needs them, never at import."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wingspan.core.config import Settings

if TYPE_CHECKING:
    from wingspan.core.engine.caching import TaskCache
    from wingspan.core.engine.interfaces import TaskExecutor
    from wingspan.core.plugins.manager import Plugins

__all__ = ["engine_parts", "local_catalog", "local_plugins"]

log = logging.getLogger("wingspan.plugins")

# task types the in-process runner serves without any plugin
_NATIVE = frozenset({"python", "dynamic", "eager"})
_lock = threading.Lock()
_plugins: Plugins | None = None
_catalogs: dict[Path, Any] = {}


def local_plugins() -> Plugins:
    """This process's plugins: discovered on the first call (failures logged), then kept."""
    global _plugins
    with _lock:
        if _plugins is None:
            from wingspan.core.plugins.manager import load_plugins

            plugins = load_plugins()
            for failure in plugins.failed:
                log.warning("plugin %r (%s) did not load (%s): %s", failure.name,
                            failure.distribution or "?", failure.stage, failure.error)
            plugins.install_transformers()
            plugins.install_environments()
            _plugins = plugins
        return _plugins


def local_catalog(settings: Settings) -> Any:
    """The SQLite catalog under ``$WINGSPAN_HOME/cache`` (one object per file per process)."""
    from wingspan.core.catalog.sqlite import SqliteCatalog

    path = settings.home / "cache" / "catalog.sqlite"
    with _lock:
        catalog = _catalogs.get(path)
        if catalog is None:
            catalog = _catalogs[path] = SqliteCatalog(path)
        return catalog


def engine_parts(closure: Any, target: str | None = None) -> tuple[TaskExecutor | None, TaskCache | None]:
    """The executor (None: in-process) and the cache (None: no task caches) for a run."""
    templates = [t.template for t in closure.tasks if t.template is not None]
    # an eager body's tasks are known only as it runs: any of them may be cached
    cached = any((t.metadata is not None and t.metadata.cache is not None and t.metadata.cache.enabled)
                 or t.type == "eager" for t in templates)
    foreign = any(t.type not in _NATIVE for t in templates)
    settings: Settings | None = None
    targets = target or ""
    if not targets:
        settings = Settings.load()
        targets = settings.task_targets
    if not (cached or foreign or targets):
        return None, None
    settings = settings or Settings.load()
    executor = None
    if foreign or targets:
        executor = _executor(settings, targets)
    cache = None
    if cached:
        from wingspan.core.engine.caching import TaskCache

        cache = TaskCache(local_catalog(settings), _store_opener(settings), settings.storage_root)
    return executor, cache


def _store_opener(settings: Settings) -> Any:
    def open_store() -> Any:
        from wingspan.core.storage import open_blob_store

        return open_blob_store(settings)

    return open_store


def _executor(settings: Settings, targets: str) -> TaskExecutor:
    from wingspan.core.plugins.executor import PluginExecutor

    plugins = local_plugins()
    return PluginExecutor(plugins.registry(targets), store=_store_opener(settings), owns_store=True,
                          work_dir=settings.home / "logs", offload_threshold=settings.offload_threshold_bytes)
