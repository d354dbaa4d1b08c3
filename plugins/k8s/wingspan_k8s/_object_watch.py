"""One custom object followed by list + watch while an attempt waits on it.

The watcher lists the object (a field selector on its name), then watches from the list's
resourceVersion. When the watch ends (the API server's timeout, a dropped connection) it
resumes from the last resourceVersion it saw; when the API server answers 410 Gone (that
version is too old to resume from) it lists again. The waiting attempt is woken on every
change, so an object that ends is noticed at once without polling.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import Any

from wingspan_k8s._responses import raw

__all__ = ["ObjectWatcher"]

log = logging.getLogger("wingspan.k8s")

_BACKOFF_MAX = 5.0


class ObjectWatcher:
    """The latest state of one custom object (None once it is gone), kept by list + watch."""

    def __init__(self, api: Any, group: str, version: str, plural: str, namespace: str, name: str, *,
                 timeout_seconds: int = 300) -> None:
        self.api = api  # a CustomObjectsApi
        self.group, self.version, self.plural = group, version, plural
        self.namespace, self.name = namespace, name
        self.timeout_seconds = timeout_seconds
        self.object: dict[str, Any] | None = None
        self.resource_version = ""
        self.generation = 0
        # what happened, for tests: lists made, watch requests, 410s seen, failures, the last error
        self.lists = 0
        self.gone = 0
        self.watches = 0
        self.failures = 0
        self.error: BaseException | None = None
        self.failing_since: float | None = None
        self.synced = asyncio.Event()
        self._event = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name=f"k8s-watch-{self.plural}-{self.namespace}-{self.name}")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def wait_change(self, generation: int, timeout: float | None) -> None:  # noqa: ASYNC109
        """Returns once something changed after ``generation`` (or after ``timeout`` seconds)."""
        if self.generation != generation:
            return
        event = self._event
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await event.wait()

    def resume_from(self, version: str) -> None:
        """Restarts the watch from ``version`` (for tests: an old version the API server no
        longer keeps is answered with 410 Gone, and the watcher lists again)."""
        self.resource_version = version
        if self._task is not None:
            self._task.cancel()
            self._task = asyncio.get_running_loop().create_task(self._run())

    def _notify(self) -> None:
        self.generation += 1
        event, self._event = self._event, asyncio.Event()
        event.set()

    async def _run(self) -> None:
        backoff = 0.1
        while True:
            try:
                if not self.resource_version:
                    await self._list()
                await self._watch_once()
                backoff = 0.1
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if getattr(exc, "status", None) == 410:  # too old to resume from: list again
                    self.gone += 1
                    self.resource_version = ""
                    continue
                self.failures += 1
                self.error = exc
                if self.failing_since is None:
                    self.failing_since = time.monotonic()
                log.warning("watching %s %s/%s failed (%s: %s); retrying in %.1fs", self.plural,
                            self.namespace, self.name, type(exc).__name__, exc, backoff)
                self._notify()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, _BACKOFF_MAX)

    def _selector(self) -> str:
        return f"metadata.name={self.name}"

    async def _list(self) -> None:
        data = json.loads(await raw(self.api.list_namespaced_custom_object(
            self.group, self.version, self.namespace, self.plural, field_selector=self._selector(),
            _preload_content=False)))
        items = data.get("items") or []
        self.object = items[0] if items else None
        self.resource_version = data["metadata"]["resourceVersion"]
        self.lists += 1
        self._healthy()
        self.synced.set()
        self._notify()

    async def _watch_once(self) -> None:
        from kubernetes_asyncio.watch import Watch

        self.watches += 1
        async with Watch(return_type="object") as watch:
            stream = watch.stream(self.api.list_namespaced_custom_object, self.group, self.version,
                                  self.namespace, self.plural, field_selector=self._selector(),
                                  resource_version=self.resource_version, allow_watch_bookmarks=True,
                                  timeout_seconds=self.timeout_seconds)
            async for event in stream:
                self._healthy()
                obj = event["raw_object"]
                version = obj.get("metadata", {}).get("resourceVersion")
                if event["type"] != "BOOKMARK":
                    self.object = None if event["type"] == "DELETED" else obj
                    self._notify()
                if version:
                    self.resource_version = version

    def _healthy(self) -> None:
        self.error = None
        self.failing_since = None
