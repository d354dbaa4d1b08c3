"""The admin service: every service of the layer, built together.

Each service takes and returns core model records and small typed dataclasses of its own;
the transports reach them through server/api/rpcs.py, which converts the IDL.
:meth:`AdminService.open` builds the whole layer from Settings, migrating the database and
writing the defaults (the ``default`` project and the domains).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, Self

import anyio

from wingspan.core.bundles import BundleLimits
from wingspan.core.config import Settings
from wingspan.core.storage import BlobStore, open_blob_store
from wingspan.server.db.engine import Database
from wingspan.server.db.migrate import migrate
from wingspan.server.services.catalog import CatalogService
from wingspan.server.services.code_bundles import BundleCheck
from wingspan.server.services.entities import EntityService
from wingspan.server.services.events import EventService
from wingspan.server.services.executions import ExecutionService
from wingspan.server.services.logs import LogReader, LogService
from wingspan.server.services.nodes import NodeService
from wingspan.server.services.notifications import NotificationService
from wingspan.server.services.payloads import DEFAULT_INLINE_LIMIT, Payloads
from wingspan.server.services.projects import DEFAULT_DOMAINS, ProjectService
from wingspan.server.services.retention import RetentionRun
from wingspan.server.services.settings import SettingsService
from wingspan.server.services.signals import SignalService
from wingspan.server.stream.outbox import EventOutbox

__all__ = ["AdminService"]

_log = logging.getLogger(__name__)


class AdminService:
    def __init__(
        self,
        db: Database,
        store: BlobStore,
        *,
        domains: Sequence[str] = DEFAULT_DOMAINS,
        inline_limit: int = DEFAULT_INLINE_LIMIT,
        log_readers: Mapping[str, LogReader] | None = None,
        settings: Settings | None = None,
    ) -> None:
        self.db = db
        self.store = store
        #: what the services take from the settings: limits, and the folder of the attempts' logs
        self.settings = settings or Settings()
        self.payloads = Payloads(store, inline_limit)
        self.projects = ProjectService(db, domains)
        self.entities = EntityService(db, self.payloads, self.projects,
                                      BundleCheck(store, BundleLimits.from_settings(self.settings)))
        self.run_settings = SettingsService(db, self.projects)
        self.executions = ExecutionService(db, self.payloads, self.projects, self.entities, self.run_settings,
                                           logs_folder=self.settings.home / "logs")
        self.nodes = NodeService(db, self.payloads, self.executions)
        self.events = EventService(db, self.payloads, EventOutbox(self.settings.event_sink_list,
                                                                  self.settings.event_source))
        self.signals = SignalService(db)
        self.catalog = CatalogService(db, self.payloads)
        self.notifications = NotificationService(db)
        # followed logs wake when an event of their execution is recorded in this process
        self.logs = LogService(db, store, self.settings.home / "logs", readers=log_readers,
                               wake=self.events.next_event)

    @classmethod
    async def open(
        cls,
        settings: Settings,
        *,
        domains: Sequence[str] | None = None,
        inline_limit: int = DEFAULT_INLINE_LIMIT,
        **kwargs: Any,
    ) -> Self:
        """The layer on the configured database and blob store, migrated and with its defaults."""
        db = Database.from_settings(settings)
        await migrate(db)
        domains = settings.domain_list if domains is None else domains
        service = cls(db, open_blob_store(settings), domains=domains, inline_limit=inline_limit,
                      settings=settings, **kwargs)
        await service.projects.ensure_defaults()
        return service

    async def prune(self, *, batch: int = 500, dry_run: bool = False) -> RetentionRun:
        """Applies every project's retention once: the executions that went (or would go)."""
        return await self.executions.prune_executions(batch=batch, dry_run=dry_run)

    async def run_retention(self, interval: float = 3600.0, *, rounds: int | None = None,
                            batch: int = 500, stop: anyio.Event | None = None) -> None:
        """Prunes now and every ``interval`` seconds, for ever (until ``stop``) or ``rounds``
        times: the scheduler role's loop. A failed round is logged and the next one tried."""
        done = 0
        while rounds is None or done < rounds:
            if done:
                with anyio.move_on_after(interval):
                    await (stop.wait() if stop is not None else anyio.sleep_forever())
            if stop is not None and stop.is_set():
                return
            done += 1
            try:
                pruned = (await self.prune(batch=batch)).executions
                if pruned:
                    _log.info("retention: deleted %d finished executions", len(pruned))
            except Exception:
                _log.exception("retention: pruning failed; trying again in %.0f s", interval)

    async def aclose(self) -> None:
        await self.store.aclose()
        await self.db.dispose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
