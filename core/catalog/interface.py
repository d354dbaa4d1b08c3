"""The catalog (task cache) interface: outputs of past attempts by cache key, and
reservations so that one run computes a key while the others wait for it.

Implementations: :class:`~wingspan.core.catalog.sqlite.SqliteCatalog` (a file under
``$WINGSPAN_HOME/cache``, for local runs); the server implements it on its database.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass

__all__ = ["CacheKey", "CachedOutputs", "Catalog", "Reservation"]


@dataclass(frozen=True)
class CacheKey:
    """Task name + cache version + a digest of the interface and the (kept) input literals."""

    task: str
    version: str
    digest: str

    @property
    def text(self) -> str:
        return f"{self.task}@{self.version}:{self.digest}"


@dataclass(frozen=True)
class CachedOutputs:
    """A catalog entry: the outputs (a LiteralMap in IDL bytes) and who computed them."""

    key: CacheKey
    outputs: bytes
    source: str = ""
    created_at: float = 0.0


@dataclass(frozen=True)
class Reservation:
    """The right to compute a key until ``expires_at`` (seconds since the epoch); ``acquired``
    says whether the asker holds it (else ``owner`` does)."""

    key: CacheKey
    owner: str
    expires_at: float
    acquired: bool


class Catalog(abc.ABC):
    """Cached task outputs by key. Every method is async; implementations do their I/O off
    the event loop and must be safe to use from several runs (and processes) at once."""

    @abc.abstractmethod
    async def get(self, key: CacheKey) -> CachedOutputs | None:
        """The entry for ``key``, or None."""

    @abc.abstractmethod
    async def put(self, entry: CachedOutputs) -> None:
        """Stores (or replaces) an entry."""

    @abc.abstractmethod
    async def reserve(self, key: CacheKey, owner: str, ttl: float) -> Reservation:
        """Takes the reservation of ``key`` for ``ttl`` seconds if nobody holds it (or its
        holder's expired, or ``owner`` holds it already: then it is extended)."""

    @abc.abstractmethod
    async def release(self, key: CacheKey, owner: str) -> None:
        """Gives up ``owner``'s reservation of ``key`` (nothing if another holds it)."""

    @abc.abstractmethod
    async def clear(self) -> int:
        """Removes every entry and reservation; returns how many entries there were."""

    async def aclose(self) -> None:  # noqa: B027 (optional: most hold nothing)
        """Releases connections."""
