"""What goes when a finished execution is deleted, and the retention runs that delete those
older than their project's retention.

An execution owns its rows (the execution, its nodes, attempts, events and signals: the
database's cascades remove them with the execution's row), its blobs (the payloads under
``executions/<project>/<domain>/<name>/``, its attempts' data under
``data/<project>/<domain>/<name>/``), the log files its attempts wrote on this machine
(``<home>/logs/<project>-<domain>-<name>/``) and the cache entries its task nodes populated.

A cache entry another execution still uses (a node of that execution was served from it: its
cache hit names the entry's source) is kept, and so is the data of the node that made it, which
its outputs may point into; an entry nobody else used goes with its execution (its outputs and
its files below ``cache/``), so no entry is left pointing at deleted data.

Data goes first, then the rows in one transaction: a crash in between leaves rows without
data, never data nobody can find. A run works in batches of ``batch`` executions per project,
one transaction each execution, so it never holds the database for long.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import anyio.to_thread
from sqlalchemy import delete
from sqlmodel import col, select

from wingspan.core.model.execution import CacheStatus
from wingspan.core.model.interface import ExecutionId
from wingspan.core.plugins.executor import execution_work_dir
from wingspan.server.db.engine import Database, now, utc
from wingspan.server.db.models import CatalogEntryRow, ExecutionRow, NodeExecutionRow, ProjectRow
from wingspan.server.services.payloads import Payloads

__all__ = ["Expired", "Retention", "RetentionRun"]

#: how a cache hit names the entry it was served from (core/engine/caching.py's reasons)
_HIT_REASONS = ("outputs reused from {}", "computed by {} while this run waited")
#: bound parameters per query (the databases cap them)
_CHUNK = 500


@dataclass(frozen=True)
class Expired:
    """A finished execution a retention run deletes (or, in a dry run, would delete)."""

    id: ExecutionId
    finished_at: datetime
    #: cache entries its nodes populated that go with it, and those kept for other executions
    cache_entries: int = 0
    kept_cache_entries: int = 0


@dataclass
class RetentionRun:
    """What one run deleted, or with ``dry_run`` would delete."""

    dry_run: bool
    executions: list[Expired] = field(default_factory=list)


@dataclass(frozen=True)
class _Purge:
    row: ExecutionRow
    doomed_entries: tuple[CatalogEntryRow, ...]
    kept_entries: tuple[CatalogEntryRow, ...]

    def expired(self) -> Expired:
        finished = utc(self.row.finished_at) or utc(self.row.updated_at)
        return Expired(ExecutionId(self.row.project, self.row.domain, self.row.name), finished,
                       len(self.doomed_entries), len(self.kept_entries))


class Retention:
    """Deletes finished executions and what they own (see the module's docstring)."""

    def __init__(self, db: Database, payloads: Payloads, logs_folder: Path | None = None) -> None:
        self.db = db
        self.payloads = payloads
        #: where the local-process target writes attempts' logs (None: nothing on this machine)
        self.logs_folder = logs_folder

    async def delete(self, row: ExecutionRow) -> Expired:
        """Deletes one finished execution (the caller checked it has ended)."""
        purge = await self._plan(row)
        await self._delete_data(purge)
        async with self.db.write() as session:
            gone = [entry.id for entry in purge.doomed_entries]
            if gone:
                await session.execute(delete(CatalogEntryRow).where(col(CatalogEntryRow.id).in_(gone)))
            await session.execute(delete(ExecutionRow).where(col(ExecutionRow.id) == row.id))
        return purge.expired()

    async def run(self, *, at: datetime | None = None, batch: int = 500,
                  dry_run: bool = False) -> RetentionRun:
        """Deletes every project's finished executions older than its retention, ``batch`` at a
        time; ``dry_run`` deletes nothing and says what would go."""
        if batch < 1:
            raise ValueError(f"retention batch: {batch} is not a positive number of executions")
        at = at or now()
        report = RetentionRun(dry_run)
        async with self.db.read() as session:
            projects = list((await session.execute(
                select(ProjectRow.id, ProjectRow.retention_seconds)
                .where(col(ProjectRow.retention_seconds).is_not(None))
                .order_by(col(ProjectRow.id)))).all())
        for project_id, seconds in projects:
            cutoff = at - timedelta(seconds=seconds)
            after = 0  # rows are taken in id order: a dry run (nothing deleted) moves past them
            while True:
                rows = await self._expired(project_id, cutoff, after, batch)
                for row in rows:
                    assert row.id is not None
                    after = row.id
                    if dry_run:
                        report.executions.append((await self._plan(row)).expired())
                    else:
                        report.executions.append(await self.delete(row))
                if len(rows) < batch:
                    break
        return report

    async def _expired(self, project: str, cutoff: datetime, after: int, batch: int) -> list[ExecutionRow]:
        async with self.db.read() as session:
            return list((await session.execute(
                select(ExecutionRow)
                .where(ExecutionRow.project == project,
                       col(ExecutionRow.finished_at).is_not(None),
                       col(ExecutionRow.finished_at) < cutoff,
                       col(ExecutionRow.id) > after)
                .order_by(col(ExecutionRow.id))
                .limit(batch))).scalars())

    async def _plan(self, row: ExecutionRow) -> _Purge:
        """The cache entries ``row``'s nodes populated: those that go, and those another
        execution was served from."""
        source = f"{row.project}/{row.domain}/{row.name}/"
        async with self.db.read() as session:
            entries = list((await session.execute(
                select(CatalogEntryRow).where(col(CatalogEntryRow.source).startswith(source, autoescape=True))
            )).scalars())
            used: set[str] = set()
            sources = {form.format(entry.source): entry.source for entry in entries for form in _HIT_REASONS}
            reasons = list(sources)
            for start in range(0, len(reasons), _CHUNK):  # a map task may have cached thousands
                used |= {sources[reason] for reason in (await session.execute(
                    select(NodeExecutionRow.reason).where(
                        NodeExecutionRow.execution_id != row.id,
                        NodeExecutionRow.cache_status == int(CacheStatus.HIT),
                        col(NodeExecutionRow.reason).in_(reasons[start:start + _CHUNK])))).scalars()}
        kept = tuple(entry for entry in entries if entry.source in used)
        return _Purge(row, tuple(entry for entry in entries if entry.source not in used), kept)

    async def _delete_data(self, purge: _Purge) -> None:
        row, store = purge.row, self.payloads.store
        await self.payloads.delete_execution(row.project, row.domain, row.name)
        data = store.uri("data", row.project, row.domain, row.name) + "/"
        if purge.kept_entries:  # each kept entry's node keeps its data: its outputs may point there
            keep = tuple(store.uri("data", *entry.source.split("/")) + "/" for entry in purge.kept_entries)
            async for uri in store.list_prefix(data):
                if not uri.startswith(keep):
                    await store.delete(uri, missing_ok=True)
        else:
            await store.delete_prefix(data)
        for entry in purge.doomed_entries:
            if entry.outputs_uri:
                await store.delete(entry.outputs_uri, missing_ok=True)
            if not await self._digest_shared(entry):
                await store.delete_prefix(store.uri("cache", entry.dataset, entry.inputs_digest) + "/")
        if self.logs_folder is not None:
            folder = execution_work_dir(self.logs_folder, f"{row.project}/{row.domain}/{row.name}")
            await anyio.to_thread.run_sync(lambda: shutil.rmtree(folder, ignore_errors=True))

    async def _digest_shared(self, entry: CatalogEntryRow) -> bool:
        """Whether another entry (another cache version) keeps files under the same folder."""
        async with self.db.read() as session:
            other = (await session.execute(
                select(CatalogEntryRow.id).where(
                    CatalogEntryRow.dataset == entry.dataset,
                    CatalogEntryRow.inputs_digest == entry.inputs_digest,
                    CatalogEntryRow.id != entry.id).limit(1))).first()
        return other is not None
