"""The catalog: cached task outputs by key, behind an interface the server implements
on its database; the local implementation is a SQLite file."""

from __future__ import annotations

from wingspan.core.catalog.interface import CachedOutputs, CacheKey, Catalog, Reservation
from wingspan.core.catalog.keys import cache_key

__all__ = ["CacheKey", "CachedOutputs", "Catalog", "Reservation", "cache_key"]
