"""Wake-ups across processes: what a write means for an engine, told to the engines at once.

On PostgreSQL a write that an engine must act on (an execution created, one asked to stop,
a signal set) sends a NOTIFY in its own transaction (:func:`announce`): PostgreSQL delivers
it at commit, and never for a write rolled back. Each engine replica LISTENs on one
connection of its own (:class:`WakeupListener`) and acts on what it hears within
milliseconds, whichever process wrote; so does each API replica for the events stored (its
watchers follow an execution that another process runs). SQLite has no such channel: there the engines poll,
as every engine still does more slowly, so a notification lost (a listener reconnecting)
delays work and loses none.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

import anyio
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ["CREATED", "EVENTS", "SIGNALLED", "STOPPING", "Doorbell", "WakeupListener", "announce"]

log = logging.getLogger("wingspan.engine")

#: an execution was created (payload: its key)
CREATED = "wingspan_created"
#: an execution was asked to stop, or stopped by force (payload: its key)
STOPPING = "wingspan_stopping"
#: a signal of an execution was set (payload: the execution's key)
SIGNALLED = "wingspan_signalled"

#: events of executions were stored (payload: their keys, comma separated; "" for any)
EVENTS = "wingspan_events"

#: the longest wait before trying to listen again, the database away
MAX_RETRY_DELAY = 30.0

#: how the listening connection is named in pg_stat_activity
APPLICATION_NAME = "wingspan-wakeups"


async def announce(session: AsyncSession, channel: str, payload: object = "") -> None:
    """Tells the engines of every process, when ``session``'s transaction commits (nothing on SQLite)."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_notify(:channel, :payload)"),
                              {"channel": channel, "payload": str(payload)})


class Doorbell:
    """Events by key that waiters take before they look and wait on after: a ring between
    their look and their wait is never missed."""

    def __init__(self) -> None:
        self._events: dict[object, anyio.Event] = {}

    def event(self, key: object) -> anyio.Event:
        found = self._events.get(key)
        if found is None:
            found = self._events[key] = anyio.Event()
        return found

    def ring(self, key: object) -> None:
        found = self._events.pop(key, None)
        if found is not None:
            found.set()

    def ring_all(self) -> None:
        events, self._events = self._events, {}
        for found in events.values():
            found.set()


class WakeupListener:
    """LISTENs on ``handlers``' channels on a connection of its own and calls each channel's
    handler with the payload of what it hears. A lost connection is made again (every
    handler is then called with ``""``: what was sent meanwhile went unheard); the
    connection is checked every ``keepalive`` seconds, so a silent network is noticed."""

    def __init__(self, url: str, handlers: Mapping[str, Callable[[str], None]], *,
                 keepalive: float = 10.0, retry_delay: float = 1.0) -> None:
        self.dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        self.handlers = dict(handlers)
        self.keepalive = keepalive
        self.retry_delay = retry_delay
        #: set while listening (tests wait on it)
        self.listening = anyio.Event()

    async def run(self) -> None:
        import asyncpg

        delay = 0.0
        while True:
            try:
                await self._listen(asyncpg)
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                # tried again soon after a cut, less often while the database stays away
                cut = self.listening.is_set()
                delay = self.retry_delay if cut else min(max(delay * 2, self.retry_delay), MAX_RETRY_DELAY)
                log.warning("listening for wake-ups failed (%s: %s); polling until it listens again "
                            "(next try in %.0f s)", type(exc).__name__, exc, delay)
            self.listening = anyio.Event()
            await anyio.sleep(delay)

    async def _listen(self, asyncpg: Any) -> None:
        connection = await asyncpg.connect(self.dsn, timeout=10,
                                           server_settings={"application_name": APPLICATION_NAME})
        try:
            lost = anyio.Event()
            connection.add_termination_listener(lambda _connection: lost.set())
            for channel in self.handlers:
                await connection.add_listener(channel, self._heard)
            for handler in self.handlers.values():
                handler("")
            self.listening.set()
            while not lost.is_set():
                with anyio.move_on_after(self.keepalive):
                    await lost.wait()
                if not lost.is_set():
                    await connection.execute("SELECT 1")
            raise ConnectionError("the database closed the connection")
        finally:
            with anyio.CancelScope(shield=True), anyio.move_on_after(5):
                try:
                    await connection.close()
                except Exception:  # closing a broken connection: it is gone either way
                    connection.terminate()

    def _heard(self, _connection: object, _pid: int, channel: str, payload: str) -> None:
        handler = self.handlers.get(channel)
        if handler is not None:
            handler(payload)
