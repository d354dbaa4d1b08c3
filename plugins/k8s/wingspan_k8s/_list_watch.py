"""List + watch of Kubernetes objects, kept current for attempts that wait on them.

A watcher lists the objects, then watches from the list's resourceVersion. When the watch ends
(the API server's timeout, a dropped connection) it resumes from the last resourceVersion it
saw; when the API server answers 410 Gone (that version is too old to resume from) it lists
again. Waiters are woken on every change, so an object that ends is noticed at once without
polling the API server. Subclasses say what to list and how to keep what they see.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from typing import Any

from wingspan_k8s._responses import raw

__all__ = ["ListWatch"]

log = logging.getLogger("wingspan.k8s")

_BACKOFF_MAX = 5.0


class ListWatch:
    """The list + watch loop; subclasses give the list call and keep the objects."""

    #: what is watched, for task names and log lines ("pods in ns", "rayjobs ns/name")
    subject = ""

    def __init__(self, *, timeout_seconds: int = 300) -> None:
        self.timeout_seconds = timeout_seconds
        self.resource_version = ""
        self.generation = 0
        # what happened, for tests and metrics: lists made, watch requests, 410s seen, failures
        self.lists = 0
        self.watches = 0
        self.gone = 0
        self.failures = 0
        # the last error and since when the watcher has failed without a success
        self.error: BaseException | None = None
        self.failing_since: float | None = None
        self.synced = asyncio.Event()
        self._event = asyncio.Event()
        self._watch: Any = None
        self._task: asyncio.Task[None] | None = None

    # ---- what subclasses give -------------------------------------------------------------

    def _list_call(self) -> tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]:
        """The API's list function with its arguments (a watch passes the same ones)."""
        raise NotImplementedError

    def _keep_list(self, items: list[dict[str, Any]]) -> None:
        raise NotImplementedError

    def _keep_event(self, kind: str, obj: dict[str, Any]) -> None:
        """``kind`` is ADDED, MODIFIED or DELETED."""
        raise NotImplementedError

    def _listed(self) -> None:
        """Called after each list (a subclass may sweep what the list no longer shows)."""

    # ---- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name=f"k8s-watch {self.subject}")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def resume_from(self, version: str) -> None:
        """Restarts the watch from ``version`` (for tests: an old version the API server no
        longer keeps is answered with 410 Gone, and the watcher lists again)."""
        self.resource_version = version
        if self._task is not None:
            self._task.cancel()
            self._task = asyncio.get_running_loop().create_task(self._run(), name=f"k8s-watch {self.subject}")

    def drop(self) -> None:
        """Cuts the current watch connection (the watcher resumes, as after a network fault)."""
        watch = self._watch
        if watch is not None and watch.resp is not None:
            watch.resp.close()

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
                if getattr(exc, "status", None) == 410:  # too old to resume from: list again
                    self.gone += 1
                    self.resource_version = ""
                    continue
                self.failures += 1
                self.error = exc
                if self.failing_since is None:
                    self.failing_since = time.monotonic()
                log.warning("watching %s failed (%s: %s); retrying in %.1fs", self.subject,
                            type(exc).__name__, exc, backoff)
                self._notify()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, _BACKOFF_MAX)

    async def _list(self) -> None:
        function, args, kwargs = self._list_call()
        data = json.loads(await raw(function(*args, **kwargs, _preload_content=False)))
        self._keep_list(data.get("items") or [])
        self.resource_version = data["metadata"]["resourceVersion"]
        self.lists += 1
        self._healthy()
        self.synced.set()
        self._notify()
        self._listed()

    async def _watch_once(self) -> None:
        from kubernetes_asyncio.watch import Watch

        function, args, kwargs = self._list_call()
        self.watches += 1
        async with Watch(return_type="object") as watch:
            self._watch = watch
            try:
                stream = watch.stream(function, *args, **kwargs, resource_version=self.resource_version,
                                      allow_watch_bookmarks=True, timeout_seconds=self.timeout_seconds)
                async for event in stream:
                    self._healthy()
                    obj = event["raw_object"]
                    version = obj.get("metadata", {}).get("resourceVersion")
                    if event["type"] != "BOOKMARK":
                        self._keep_event(event["type"], obj)
                        self._notify()
                    if version:
                        self.resource_version = version
            finally:
                self._watch = None

    def _healthy(self) -> None:
        self.error = None
        self.failing_since = None
