"""One watch per namespace over the pods Wingspan manages, shared by every attempt in it.

The watcher lists the pods (label ``app.kubernetes.io/managed-by=wingspan``), then watches
from the list's resourceVersion. When the watch ends (the API server's timeout, a
dropped connection) it resumes from the last resourceVersion it saw; when the API server
answers 410 Gone (that version is too old) it lists again. Attempts wait on its change
notifications, so a finished pod is noticed at once without polling the API server.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from typing import Any

from wingspan_k8s._pods import MANAGED_BY
from wingspan_k8s._responses import raw

__all__ = ["PodWatcher"]

log = logging.getLogger("wingspan.k8s")

SELECTOR = f"{MANAGED_BY}=wingspan"
_BACKOFF_MAX = 5.0


class PodWatcher:
    """The latest state of each managed pod of one namespace, kept by list + watch."""

    def __init__(self, core: Any, namespace: str, *, timeout_seconds: int = 300,
                 on_list: Callable[[PodWatcher], None] | None = None) -> None:
        self.core = core
        self.namespace = namespace
        self.timeout_seconds = timeout_seconds
        self.on_list = on_list
        self.pods: dict[str, dict[str, Any]] = {}
        self.resource_version = ""
        self.generation = 0
        # what happened, for tests and metrics: lists made, watch requests, failures seen
        self.lists = 0
        self.watches = 0
        self.failures = 0
        # the last error and since when the watcher has failed without a success
        self.error: BaseException | None = None
        self.failing_since: float | None = None
        self.synced = asyncio.Event()
        self._event = asyncio.Event()
        self._watch: Any = None
        self._task: asyncio.Task[None] | None = None

    # ---- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        if self._task is None:
            loop = asyncio.get_running_loop()
            self._task = loop.create_task(self._run(), name=f"k8s-watch-{self.namespace}")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    # ---- waiting --------------------------------------------------------------------------

    async def wait_change(self, generation: int, timeout: float | None) -> None:  # noqa: ASYNC109
        """Returns once something changed after ``generation`` (or after ``timeout`` seconds)."""
        if self.generation != generation:
            return
        event = self._event
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await event.wait()

    def _notify(self) -> None:
        self.generation += 1
        event, self._event = self._event, asyncio.Event()
        event.set()

    # ---- list and watch -------------------------------------------------------------------

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
                if getattr(exc, "status", None) == 410:  # too old: list again
                    self.resource_version = ""
                    continue
                self.failures += 1
                self.error = exc
                if self.failing_since is None:
                    self.failing_since = time.monotonic()
                log.warning("watching pods in %s failed (%s: %s); retrying in %.1fs", self.namespace,
                            type(exc).__name__, exc, backoff)
                self._notify()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, _BACKOFF_MAX)

    async def _list(self) -> None:
        data = json.loads(await raw(self.core.list_namespaced_pod(self.namespace, label_selector=SELECTOR,
                                                                  _preload_content=False)))
        self.pods = {item["metadata"]["name"]: item for item in data.get("items") or []}
        self.resource_version = data["metadata"]["resourceVersion"]
        self.lists += 1
        self._healthy()
        self.synced.set()
        self._notify()
        if self.on_list is not None:
            self.on_list(self)

    async def _watch_once(self) -> None:
        from kubernetes_asyncio.watch import Watch

        self.watches += 1
        async with Watch(return_type="object") as watch:
            self._watch = watch
            try:
                stream = watch.stream(self.core.list_namespaced_pod, self.namespace, label_selector=SELECTOR,
                                      resource_version=self.resource_version, allow_watch_bookmarks=True,
                                      timeout_seconds=self.timeout_seconds)
                async for event in stream:
                    self._healthy()
                    obj = event["raw_object"]
                    version = obj.get("metadata", {}).get("resourceVersion")
                    if event["type"] != "BOOKMARK":
                        name = obj["metadata"]["name"]
                        if event["type"] == "DELETED":
                            self.pods.pop(name, None)
                        else:
                            self.pods[name] = obj
                        self._notify()
                    if version:
                        self.resource_version = version
            finally:
                self._watch = None

    def _healthy(self) -> None:
        self.error = None
        self.failing_since = None

    def drop(self) -> None:
        """Cuts the current watch connection (the watcher resumes, as after a network fault)."""
        watch = self._watch
        if watch is not None and watch.resp is not None:
            watch.resp.close()
