"""Container log files in the CRI format a kubelet keeps, and the readers that serve them.

Each line on disk is ``<RFC3339Nano time> <stdout|stderr> F <text>``, as containerd
writes them, so ``timestamps=true`` and ``sinceSeconds`` can be answered from the file.
"""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _format_time(moment: datetime.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse_time(text: str) -> datetime.datetime:
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.UTC)


class ContainerLog:
    """One run of one container: written by the process readers, read by the log server."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("ab")
        self._changed = asyncio.Event()
        self.closed = False

    def write(self, stream: str, text: bytes) -> None:
        line = text.rstrip(b"\n")
        self._file.write(f"{_format_time(_now())} {stream} F ".encode() + line + b"\n")
        # flushed per line so a following reader sees output while the process runs
        self._file.flush()
        self._notify()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._file.close()
            self._notify()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def changed(self) -> None:
        await self._changed.wait()


@dataclass(frozen=True)
class LogQuery:
    """The kubelet's containerLogs query parameters that the agent honours."""

    follow: bool = False
    timestamps: bool = False
    tail_lines: int | None = None
    limit_bytes: int | None = None
    since: datetime.datetime | None = None


def _render(raw: bytes, query: LogQuery) -> bytes | None:
    """One CRI line to what the client sees, or None when the query filters it out."""
    try:
        stamp, _stream, _tag, text = raw.rstrip(b"\n").split(b" ", 3)
    except ValueError:
        return None
    if query.since is not None and _parse_time(stamp.decode()) < query.since:
        return None
    return (stamp + b" " + text if query.timestamps else text) + b"\n"


async def read_log(log: ContainerLog, query: LogQuery) -> AsyncIterator[bytes]:
    """Yields rendered lines; with follow, waits for more until the container ends."""
    sent = 0
    with log.path.open("rb") as handle:
        lines = handle.readlines()
        if query.tail_lines is not None:
            lines = lines[-query.tail_lines:] if query.tail_lines > 0 else []
        while True:
            for raw in lines:
                rendered = _render(raw, query)
                if rendered is None:
                    continue
                if query.limit_bytes is not None and sent + len(rendered) > query.limit_bytes:
                    yield rendered[: query.limit_bytes - sent]
                    return
                sent += len(rendered)
                yield rendered
            if not query.follow:
                return
            # No await between reading and waiting: a write cannot slip in unseen.
            lines = handle.readlines()
            while not lines and not log.closed:
                await log.changed()
                lines = handle.readlines()
            if not lines:
                return
