"""The publisher of the outward event stream: the outbox, emptied into each sink.

One publisher per sink on every replica with the scheduler role; one at a time publishes
(the sink's row in ``event_publishers`` is a lease: owner and expiry, taken when free or run
out, extended every round, as the engines' leases on executions are). It sends the sink's
pending events one by one in row order, which is the order they were stored in, and deletes
those the sink took (one statement per round): a publisher killed between a publish and
that delete leaves the event to be sent again by the next holder, so each goes out at least
once and in order per execution; consumers de-duplicate by the CloudEvent ``id``. A sink's
retryable failure stops the round (the rest waits, keeping the order) and the publisher
backs off; a refusal for good sets that event aside (``state`` 2, with the error) and goes on.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import anyio
from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from wingspan.core.engine import RetryPolicy
from wingspan.core.errors import ConfigError
from wingspan.core.plugins.event_sinks import CloudEvent, DeliveryError, EventSink
from wingspan.server.db.engine import Database, now, utc
from wingspan.server.db.models import EventOutboxRow, EventPublisherRow
from wingspan.server.stream.outbox import EventOutbox

__all__ = ["EventPublisher", "chosen_sinks", "run_event_publishers"]

_log = logging.getLogger(__name__)

PENDING, DEAD = 0, 2


def chosen_sinks(names: tuple[str, ...], available: Mapping[str, EventSink]) -> dict[str, EventSink]:
    """The sinks the ``event_sinks`` setting names; a name no installed sink has is refused."""
    unknown = [name for name in names if name not in available]
    if unknown:
        raise ConfigError(
            f"setting event_sinks names {', '.join(repr(n) for n in unknown)}, which no installed event "
            f"sink provides (installed: {', '.join(sorted(available)) or 'none'}); install the plugin "
            "that provides it (e.g. wingspan-nats for 'nats'), or remove it from event_sinks")
    return {name: available[name] for name in names}


def _default_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class EventPublisher:
    """Publishes the outbox rows of sink ``name`` through ``sink``, while holding its lease."""

    db: Database
    name: str
    sink: EventSink
    outbox: EventOutbox | None = None
    owner: str = field(default_factory=_default_owner)
    lease: timedelta = timedelta(seconds=30)
    batch: int = 500
    retry: RetryPolicy = field(default_factory=lambda: RetryPolicy(first_delay=0.5, max_delay=60.0))
    # woken by a write, the publisher waits this long for the next ones: one round for an engine
    # step's several transactions, not one each
    linger: float = 0.05
    clock: Callable[[], datetime] = now
    failures: int = 0
    _held_until: datetime | None = None

    async def hold(self) -> bool:
        """Takes or extends this sink's lease; False while another publisher holds it. A lease
        with more than two thirds of its time left is kept as it is (no write per round)."""
        at = self.clock()
        if self._held_until is not None and at < self._held_until - self.lease / 3:
            return True
        until = at + self.lease
        try:
            async with self.db.write() as session:
                row = await session.get(EventPublisherRow, self.name, with_for_update=True)
                if row is None:
                    session.add(EventPublisherRow(sink=self.name, owner=self.owner, lease_expires_at=until,
                                                  updated_at=at))
                else:
                    expires = utc(row.lease_expires_at)
                    if row.owner not in ("", self.owner) and expires is not None and expires > at:
                        self._held_until = None
                        return False
                    row.owner, row.lease_expires_at = self.owner, until
        except IntegrityError:  # another replica made the row at the same moment: it holds it
            self._held_until = None
            return False
        self._held_until = until
        return True

    def _still_held(self) -> bool:
        # a round stops well before the lease runs out: past it another publisher may start,
        # and two publishing at once could reorder an execution's events
        return self._held_until is not None and self.clock() < self._held_until - self.lease / 3

    async def pending(self) -> list[EventOutboxRow]:
        async with self.db.read() as session:
            return list((await session.execute(
                select(EventOutboxRow)
                .where(EventOutboxRow.sink == self.name, EventOutboxRow.state == PENDING)
                .order_by(col(EventOutboxRow.id))
                .limit(self.batch))).scalars())

    async def run_once(self) -> int:
        """One round: the lease, then the pending events in order until one fails or the batch
        ends. How many the sink took (-1: another publisher holds the lease)."""
        if not await self.hold():
            return -1
        rows = await self.pending()
        sent: list[int] = []
        dead: dict[int, str] = {}
        error = ""
        for row in rows:
            if not self._still_held():
                break
            try:
                await self.sink.publish(CloudEvent.from_json(row.body))
            except DeliveryError as exc:
                if exc.retryable:
                    error = str(exc)
                    break
                dead[row.id or 0] = str(exc)
                continue
            except Exception as exc:  # a sink's bug: logged, and retried like a failure
                _log.exception("event sink %r failed", self.name)
                error = f"{type(exc).__name__}: {exc}"
                break
            sent.append(row.id or 0)
        await self._record(sent, dead, error)
        self.failures = self.failures + 1 if error else 0
        return len(sent)

    async def _record(self, sent: list[int], dead: dict[int, str], error: str) -> None:
        if not sent and not dead and not error:
            return
        async with self.db.write() as session:
            if sent:
                await session.execute(delete(EventOutboxRow).where(col(EventOutboxRow.id).in_(sent)))
            for row_id, why in dead.items():
                await session.execute(update(EventOutboxRow).where(col(EventOutboxRow.id) == row_id)
                                      .values(state=DEAD, error=why))
            row = await session.get(EventPublisherRow, self.name)
            if row is not None:
                row.published += len(sent)
                row.dead += len(dead)
                row.last_error = error or next(iter(dead.values()), row.last_error)
                row.updated_at = self.clock()

    async def run(self, *, stop: anyio.Event | None = None, interval: float = 1.0) -> None:
        """Publishes until ``stop``: at once after a full round or a new outbox write in this
        process, else every ``interval`` seconds; after a failure, with growing backoff."""
        try:
            while stop is None or not stop.is_set():
                woken = self.outbox.next_write() if self.outbox is not None else anyio.Event()
                published = 0
                try:
                    published = await self.run_once()
                except Exception:
                    _log.exception("event publisher %r: a round failed; trying again", self.name)
                    self.failures += 1
                if self.failures:
                    wait = self.retry.delay(self.failures)
                    _log.warning("event sink %r: publishing failed %d time(s) in a row; next try in %.1f s",
                                 self.name, self.failures, wait)
                    await _wait(stop, None, wait)
                elif published < self.batch:
                    await _wait(stop, woken, interval)
                    if woken.is_set():
                        await _wait(stop, None, self.linger)
        finally:
            with anyio.CancelScope(shield=True):
                await self.sink.aclose()


async def _wait(stop: anyio.Event | None, woken: anyio.Event | None, seconds: float) -> None:
    with anyio.move_on_after(seconds):
        async with anyio.create_task_group() as group:
            async def until(event: anyio.Event) -> None:
                await event.wait()
                group.cancel_scope.cancel()

            for event in (stop, woken):
                if event is not None:
                    group.start_soon(until, event)
            await anyio.sleep_forever()


async def run_event_publishers(admin: Any, sinks: Mapping[str, EventSink], *, stop: anyio.Event | None = None,
                               interval: float = 1.0, **options: Any) -> None:
    """One publisher per sink for ``admin``'s outbox, until ``stop``."""
    async with anyio.create_task_group() as group:
        for name, sink in sinks.items():
            publisher = EventPublisher(admin.db, name, sink, admin.events.outbox, **options)
            group.start_soon(_run, publisher, stop, interval)


async def _run(publisher: EventPublisher, stop: anyio.Event | None, interval: float) -> None:
    await publisher.run(stop=stop, interval=interval)
