"""Gates of a server execution wait for the values set through the signal API."""

from __future__ import annotations

from typing import Any

import anyio
from sqlmodel import select

from wingspan.core.model import codec
from wingspan.core.model.literals import Literal, LiteralType
from wingspan.server.db.engine import Database
from wingspan.server.db.models import SignalRow
from wingspan.server.db.wakeups import Doorbell

__all__ = ["DatabaseSignals"]


class DatabaseSignals:
    """Reads a gate's signal from the signals table until it is set. An approval's value is
    a plain bool (what the engine checks); an input's stays a literal. Read again each
    ``poll_interval`` seconds, or at once when ``doorbell`` rings for the execution (a signal
    of it was set)."""

    def __init__(self, db: Database, execution_key: int, poll_interval: float = 0.2,
                 doorbell: Doorbell | None = None) -> None:
        self._db = db
        self._execution_key = execution_key
        self._poll = poll_interval
        self._doorbell = doorbell

    async def wait(self, name: str, expected: LiteralType | None, node_id: str) -> Any:
        while True:
            # taken before reading: a ring while the read runs is not missed
            rung = self._doorbell.event(self._execution_key) if self._doorbell is not None else anyio.Event()
            async with self._db.read() as session:
                data = (
                    await session.execute(
                        select(SignalRow.value_bytes).where(
                            SignalRow.execution_id == self._execution_key, SignalRow.signal_id == name
                        )
                    )
                ).scalar_one_or_none()
            if data is not None:
                value = codec.decode(Literal, data)
                if value.kind == "boolean" and expected is not None and expected.kind == "simple":
                    return bool(value.value)
                return value
            with anyio.move_on_after(self._poll):
                await rung.wait()
