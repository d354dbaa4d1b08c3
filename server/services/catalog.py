"""The catalog on the database: cached task outputs, and reservations.

An entry is a task's outputs under a key: the dataset (``project/domain/task``),
the cache version and a digest of the inputs. A reservation says which run
computes a key right now (``cache_serialize``): the others wait for its result
instead of computing it too. A reservation lapses at ``expires_at`` unless its
owner extends it (a heartbeat), so a crashed owner does not block a key for ever.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from wingspan.core.errors import InvalidArgumentError
from wingspan.server.db.engine import Database, is_unique_violation, now, utc
from wingspan.server.db.models import CatalogEntryRow, CatalogReservationRow
from wingspan.server.services.payloads import Payloads

__all__ = ["CatalogEntry", "CatalogKey", "CatalogService", "Reservation"]


# These mirror wingspan.core.catalog.interface (CacheKey, CachedOutputs, Reservation) field
# for field, so that this class becomes that interface's server implementation by importing
# them instead, once it is committed.
@dataclass(frozen=True, slots=True)
class CatalogKey:
    """Task name + cache version + digest of the interface and the kept input literals."""

    task: str
    version: str
    digest: str

    def check(self) -> None:
        if not self.task or not self.digest:
            raise InvalidArgumentError(f"catalog key {self}: task and digest are required")


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    """The outputs (a LiteralMap in IDL bytes) and who computed them."""

    key: CatalogKey
    outputs: bytes
    source: str = ""
    created_at: float = 0.0


@dataclass(frozen=True, slots=True)
class Reservation:
    """The right to compute a key until ``expires_at`` (seconds since the epoch);
    ``acquired``: the asker holds it (else ``owner`` does)."""

    key: CatalogKey
    owner: str
    expires_at: float
    acquired: bool


def _where(table: Any, key: CatalogKey) -> tuple[Any, ...]:
    return (table.dataset == key.task, table.version == key.version, table.inputs_digest == key.digest)


class CatalogService:
    """The catalog on the control plane's database; outputs above the inline limit go to
    the blob store. Safe for any number of engines at once: the unique key decides races."""

    def __init__(self, db: Database, payloads: Payloads) -> None:
        self.db = db
        self.payloads = payloads

    async def get(self, key: CatalogKey) -> CatalogEntry | None:
        key.check()
        async with self.db.read() as session:
            statement = select(CatalogEntryRow).where(*_where(CatalogEntryRow, key))
            row = (await session.execute(statement)).scalar_one_or_none()
        if row is None:
            return None
        data = await self.payloads.get(row.outputs_bytes, row.outputs_uri)
        return CatalogEntry(key, data or b"", row.source, utc(row.created_at).timestamp())

    async def put(self, entry: CatalogEntry) -> None:
        """Stores (or replaces) an entry."""
        key = entry.key
        key.check()
        inline, uri = await self.payloads.put(
            entry.outputs, "catalog", key.task, key.version or "_", f"{key.digest}.pb"
        )
        for _ in range(3):
            at = now()
            try:
                async with self.db.write() as session:
                    statement = select(CatalogEntryRow).where(*_where(CatalogEntryRow, key))
                    row = (await session.execute(statement.with_for_update())).scalar_one_or_none()
                    if row is None:
                        row = CatalogEntryRow(
                            dataset=key.task,
                            version=key.version,
                            inputs_digest=key.digest,
                            created_at=at,
                            updated_at=at,
                        )
                        session.add(row)
                    row.outputs_bytes, row.outputs_uri = inline, uri
                    row.source, row.updated_at = entry.source, at
                return
            except IntegrityError as exc:  # a concurrent first put won: replace it next time round
                if not is_unique_violation(exc):
                    raise
        raise AssertionError("unreachable: the entry exists after a unique violation")

    async def reserve(self, key: CatalogKey, owner: str, ttl: float) -> Reservation:
        """Takes the reservation of ``key`` for ``ttl`` seconds if nobody holds it (or its
        holder's expired, or ``owner`` holds it already: then it is extended)."""
        key.check()
        if not owner:
            raise InvalidArgumentError("a catalog reservation needs an owner id")
        for _ in range(3):
            at = now()
            until = at + timedelta(seconds=ttl)
            try:
                async with self.db.write() as session:
                    statement = select(CatalogReservationRow).where(*_where(CatalogReservationRow, key))
                    row = (await session.execute(statement.with_for_update())).scalar_one_or_none()
                    if row is None:
                        session.add(
                            CatalogReservationRow(
                                dataset=key.task,
                                version=key.version,
                                inputs_digest=key.digest,
                                owner=owner,
                                expires_at=until,
                                created_at=at,
                            )
                        )
                        return Reservation(key, owner, until.timestamp(), True)
                    expires = utc(row.expires_at)
                    if row.owner != owner and expires > at:
                        return Reservation(key, row.owner, expires.timestamp(), False)
                    row.owner, row.expires_at = owner, until
                    return Reservation(key, owner, until.timestamp(), True)
            except IntegrityError as exc:  # another owner inserted first: read theirs next time round
                if not is_unique_violation(exc):
                    raise
        raise AssertionError("unreachable: a reservation row exists after a unique violation")

    async def release(self, key: CatalogKey, owner: str) -> None:
        """Gives up ``owner``'s reservation of ``key`` (nothing if another holds it)."""
        key.check()
        async with self.db.write() as session:
            await session.execute(
                delete(CatalogReservationRow).where(
                    *_where(CatalogReservationRow, key), col(CatalogReservationRow.owner) == owner
                )
            )

    async def clear(self) -> int:
        """Removes every entry and reservation (and offloaded outputs); returns how many entries."""
        async with self.db.write() as session:
            result = await session.execute(delete(CatalogEntryRow))
            await session.execute(delete(CatalogReservationRow))
        await self.payloads.store.delete_prefix(self.payloads.store.uri("catalog") + "/")
        return int(cast("CursorResult[Any]", result).rowcount)
