"""The task cache as the engine uses it: look the key up before the first attempt,
reuse the outputs on a hit, store them after a success; with ``cache_serialize``, take a
reservation first so that one run computes a key while the others wait for its outputs.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

import anyio

from wingspan.core.catalog.interface import CachedOutputs, CacheKey, Catalog
from wingspan.core.catalog.keys import cache_key
from wingspan.core.engine.cache_inputs import key_literals
from wingspan.core.engine.interfaces import TaskRunner
from wingspan.core.model.execution import CacheStatus, NodePhase
from wingspan.core.model.tasks import CacheSettings
from wingspan.core.types import TransferContext, default_engine

if TYPE_CHECKING:
    from wingspan.core.engine.execution import ExecutionState
    from wingspan.core.storage.interface import BlobStore

__all__ = ["TaskCache"]

Compute = Callable[[], Awaitable[dict[str, Any]]]


class TaskCache:
    """A catalog, and where cached files and frames go (a blob store below ``root``)."""

    def __init__(self, catalog: Catalog, store: Callable[[], BlobStore] | None = None, root: str = "",
                 reservation_ttl: float = 30.0) -> None:
        self.catalog = catalog
        self._store_factory = store
        self._store: BlobStore | None = None
        self._root = root
        self.reservation_ttl = reservation_ttl

    def _transfer(self, *parts: str) -> TransferContext:
        if self._store is None and self._store_factory is not None:
            self._store = self._store_factory()
        if self._store is None or not self._root:
            return TransferContext()
        from wingspan.core.storage.uris import join_uri

        return TransferContext(self._store, join_uri(self._root, "cache", *parts))

    async def run(self, state: ExecutionState, runner: TaskRunner, settings: CacheSettings,
                  inputs: dict[str, Any], path: str, parent: str, compute: Compute,
                  hashers: Mapping[str, Callable[[Any], Any]] | None = None) -> dict[str, Any]:
        """Runs ``compute`` unless the catalog has the outputs; records the cache status.
        ``hashers`` are the hash methods of the outputs that feed inputs, by input name."""
        template = runner.template
        try:
            literals = await key_literals(inputs, runner.input_types, self._transfer().store, hashers)
            key = cache_key(template, literals, settings.ignored_inputs)
            entry = await self.catalog.get(key)
        except Exception as exc:  # a file input without a store, or the catalog failed
            outputs = await compute()
            state.node(path, NodePhase.SUCCEEDED, parent, cache=CacheStatus.LOOKUP_FAILURE, outputs=outputs,
                       reason=f"cache lookup failed: {type(exc).__name__}: {exc}"[:300])
            return outputs
        if entry is not None:
            return await self._hit(state, runner, entry, path, parent)
        if not settings.serialize:
            outputs = await compute()
            await self._store_outputs(state, runner, key, outputs, path, parent)
            return outputs
        return await self._serialized(state, runner, key, path, parent, compute)

    async def _hit(self, state: ExecutionState, runner: TaskRunner, entry: CachedOutputs, path: str,
                   parent: str, reason: str = "") -> dict[str, Any]:
        from wingspan.core.model import codec
        from wingspan.core.model.literals import LiteralMap

        literals = codec.decode(LiteralMap, entry.outputs)
        outputs = await default_engine().to_python_map(literals, runner.output_types, self._transfer())
        # the reason names the entry's source: the server's retention keeps an entry whose
        # source a hit of another execution names (server/services/retention.py)
        state.node(path, NodePhase.SUCCEEDED, parent, cache=CacheStatus.HIT, outputs=outputs,
                   reason=reason or f"outputs reused from {entry.source or 'an earlier run'}")
        return outputs

    async def _store_outputs(self, state: ExecutionState, runner: TaskRunner, key: CacheKey,
                             outputs: dict[str, Any], path: str, parent: str) -> None:
        from wingspan.core.model import codec

        status, reason = CacheStatus.POPULATED, ""
        try:
            literals = await default_engine().to_literal_map(
                outputs, runner.output_types, self._transfer(key.task, key.digest))
            await self.catalog.put(CachedOutputs(key, codec.encode(literals),
                                                 f"{state.execution_id}/{path}", time.time()))
        except Exception as exc:  # the run succeeded; only the cache missed out
            status, reason = CacheStatus.PUT_FAILURE, f"{type(exc).__name__}: {exc}"[:300]
        state.node(path, NodePhase.SUCCEEDED, parent, cache=status, reason=reason, outputs=outputs)

    async def _serialized(self, state: ExecutionState, runner: TaskRunner, key: CacheKey, path: str,
                          parent: str, compute: Compute) -> dict[str, Any]:
        owner = f"{state.execution_id}/{path}/{uuid.uuid4().hex[:8]}"
        ttl = self.reservation_ttl
        delay = 0.01
        waited = False
        while True:
            reservation = await self.catalog.reserve(key, owner, ttl)
            if reservation.acquired:
                break
            if not waited:
                waited = True
                state.node(path, NodePhase.WAITING, parent, cache=CacheStatus.MISS,
                           reason=f"another run ({reservation.owner}) computes this cache key")
            await anyio.sleep(delay)
            delay = min(delay * 2, 0.5)
            entry = await self.catalog.get(key)
            if entry is not None:
                return await self._hit(state, runner, entry, path, parent,
                                       f"computed by {entry.source} while this run waited")
        try:
            entry = await self.catalog.get(key)  # computed between the lookup and the reservation
            if entry is not None:
                return await self._hit(state, runner, entry, path, parent)
            async with anyio.create_task_group() as group:
                group.start_soon(self._keep, key, owner, ttl)
                outputs = await compute()
                group.cancel_scope.cancel()
            await self._store_outputs(state, runner, key, outputs, path, parent)
            return outputs
        finally:
            with anyio.CancelScope(shield=True):
                await self.catalog.release(key, owner)

    async def _keep(self, key: CacheKey, owner: str, ttl: float) -> None:
        """Extends the reservation while the attempt runs: a run that dies lets it lapse."""
        while True:
            await anyio.sleep(ttl / 3)
            await self.catalog.reserve(key, owner, ttl)
