"""The server's catalog (on its database) as the engine's task cache."""

from __future__ import annotations

from wingspan.core.catalog import CachedOutputs, CacheKey, Catalog, Reservation
from wingspan.server.services.catalog import CatalogEntry, CatalogKey, CatalogService

__all__ = ["ServerCatalog"]


def _key(key: CacheKey) -> CatalogKey:
    return CatalogKey(key.task, key.version, key.digest)


class ServerCatalog(Catalog):
    def __init__(self, service: CatalogService) -> None:
        self.service = service

    async def get(self, key: CacheKey) -> CachedOutputs | None:
        entry = await self.service.get(_key(key))
        return None if entry is None else CachedOutputs(key, entry.outputs, entry.source, entry.created_at)

    async def put(self, entry: CachedOutputs) -> None:
        await self.service.put(CatalogEntry(_key(entry.key), entry.outputs, entry.source, entry.created_at))

    async def reserve(self, key: CacheKey, owner: str, ttl: float) -> Reservation:
        found = await self.service.reserve(_key(key), owner, ttl)
        return Reservation(key, found.owner, found.expires_at, found.acquired)

    async def release(self, key: CacheKey, owner: str) -> None:
        await self.service.release(_key(key), owner)

    async def clear(self) -> int:
        return await self.service.clear()
