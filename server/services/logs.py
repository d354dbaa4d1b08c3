"""Task logs (GetTaskLogs): the bytes an attempt wrote, from an offset, optionally followed.

Where the bytes are: an attempt run by a plugin that can read its own logs (the
Kubernetes plugin reads a pod's; the local-process target's handle names its log file)
is read through that plugin's reader, chosen by the attempt's ``plugin`` column, so it
can be read as soon as the attempt has started; any other attempt through its log links
(``task_executions.logs``): a file on this machine (a path or ``file://`` URI, what the
local-process target writes) or an object in the blob store. Links to anything else
(a dashboard URL) are shown to users by the console, not read here.

Following: the stream stays open and sends new output as it is written, until the
attempt (or its execution) has ended; the file and the row are read again every
``poll_interval`` seconds, or at once when an event of the execution is recorded in
this process (``wake``).
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from typing import Any
from urllib.parse import unquote, urlparse

import anyio
from sqlmodel import col, select

from wingspan.core.errors import InvalidArgumentError, NotFoundError
from wingspan.core.plugins.contract import ReadsLogs, TaskPlugin
from wingspan.core.storage.interface import BlobStore
from wingspan.server.db.engine import Database
from wingspan.server.db.models import ExecutionRow, NodeExecutionRow, TaskExecutionRow, key
from wingspan.server.db.queries import execution_row
from wingspan.server.services.identifiers import check_execution_id
from wingspan.server.services.idl import v1
from wingspan.server.services.phases import is_terminal

__all__ = ["LogReader", "LogService", "plugin_log_readers", "read_local_process_log"]

#: a plugin's log reader, its ``read_logs(handle, offset)``: the attempt's handle (decoded from
#: the JSON the engine stores) and a byte offset -> the bytes from there
LogReader = Callable[[Any, int], Awaitable[bytes]]
#: an event to wait on that is set when an event of the execution (by row id) is recorded
Wake = Callable[[int], anyio.Event]

#: bytes per message, and at most per read of a file (a larger rest is read in the next round)
CHUNK_BYTES = 256 * 1024
READ_BYTES = 16 * CHUNK_BYTES


class LogService:
    """``readers`` maps a task plugin's name to its log reader (see :data:`LogReader`), beside
    the local-process target's, which is built in."""

    def __init__(self, db: Database, store: BlobStore, *, readers: Mapping[str, LogReader] | None = None,
                 wake: Wake | None = None, poll_interval: float = 0.5) -> None:
        self.db = db
        self.store = store
        self.readers: dict[str, LogReader] = {"local-process": read_local_process_log, **(readers or {})}
        self.wake = wake
        self.poll_interval = poll_interval

    async def get_task_logs(self, request: Any) -> AsyncIterator[Any]:
        """Chunks of the attempt's log from ``offset``; the first one at once (maybe empty),
        the last one marked ``complete`` once the attempt has ended and all is out."""
        node_execution_id = request.node_execution_id
        if node_execution_id is None or not node_execution_id.node_id:
            raise InvalidArgumentError("GetTaskLogs: the node execution id is missing")
        check_execution_id(node_execution_id.execution_id, "GetTaskLogs: execution id")
        execution, attempt = await self._attempt(node_execution_id, request.attempt)
        where = (f"node {node_execution_id.node_id!r} attempt {attempt.attempt} "
                 f"of execution {execution.name}")
        offset, first = int(request.offset), True
        while True:
            # the waiter comes before the reads, so an event recorded in between still wakes us
            waiter = self.wake(key(execution)) if self.wake is not None and request.follow else None
            execution, attempt = await self._reload(execution, attempt)
            # ended before the read: everything it wrote is in what the read sees
            ended = is_terminal("task", attempt.phase) or is_terminal("workflow", execution.phase)
            data = await self._read(attempt, offset, ended, where)
            more = len(data) >= READ_BYTES
            last = (ended or not request.follow) and not more
            for start in range(0, max(len(data), 1), CHUNK_BYTES):
                piece = data[start:start + CHUNK_BYTES]
                offset += len(piece)
                final = last and start + CHUNK_BYTES >= len(data)
                if piece or first or final:
                    yield v1.LogChunk(data=piece, next_offset=offset, complete=final and ended)
                    first = False
            if last:
                return
            if more:
                continue
            if waiter is None:
                await anyio.sleep(self.poll_interval)
            else:
                with anyio.move_on_after(self.poll_interval):
                    await waiter.wait()

    async def _attempt(self, node_execution_id: Any, attempt: int | None
                       ) -> tuple[ExecutionRow, TaskExecutionRow]:
        execution_id, node_id = node_execution_id.execution_id, node_execution_id.node_id
        async with self.db.read() as session:
            execution = await execution_row(session, execution_id)
            if execution is None:
                raise NotFoundError(f"execution {execution_id.project}/{execution_id.domain}/"
                                    f"{execution_id.name} does not exist")
            node = (await session.execute(select(NodeExecutionRow.id).where(
                NodeExecutionRow.execution_id == execution.id, NodeExecutionRow.node_id == node_id))
            ).scalar_one_or_none()
            if node is None:
                raise NotFoundError(f"execution {execution.name} has no node {node_id!r} (yet)")
            statement = select(TaskExecutionRow).where(
                TaskExecutionRow.execution_id == execution.id, TaskExecutionRow.node_id == node_id)
            if attempt is not None:
                statement = statement.where(TaskExecutionRow.attempt == attempt)
            found = (await session.execute(
                statement.order_by(col(TaskExecutionRow.attempt).desc()).limit(1))).scalar_one_or_none()
        if found is None:
            if attempt is None:
                raise NotFoundError(f"node {node_id!r} of execution {execution.name} has no task attempts "
                                    "(yet): only task nodes have logs")
            raise NotFoundError(f"node {node_id!r} of execution {execution.name} has no attempt {attempt}")
        return execution, found

    async def _reload(self, execution: ExecutionRow, attempt: TaskExecutionRow
                      ) -> tuple[ExecutionRow, TaskExecutionRow]:
        async with self.db.read() as session:
            fresh_execution = await session.get(ExecutionRow, key(execution))
            fresh_attempt = await session.get(TaskExecutionRow, key(attempt))
        if fresh_execution is None or fresh_attempt is None:
            raise NotFoundError(f"execution {execution.name} was deleted while its logs were read")
        return fresh_execution, fresh_attempt

    async def _read(self, attempt: TaskExecutionRow, offset: int, ended: bool, where: str) -> bytes:
        """The bytes from ``offset``; empty when there are none yet."""
        reader = self.readers.get(attempt.plugin) if attempt.plugin else None
        if reader is not None and attempt.plugin_handle:
            try:
                handle = json.loads(attempt.plugin_handle)
            except ValueError:
                handle = attempt.plugin_handle  # not the engine's JSON: the reader gets the bytes
            try:
                return await reader(handle, offset)
            except FileNotFoundError:
                if not ended:
                    return b""  # the attempt has not opened it yet
                raise NotFoundError(f"{where}: its log is gone (pruned, or written on another "
                                    "machine)") from None
        links = [(str(name), str(uri)) for name, uri in json.loads(attempt.logs or "[]")]
        readable = [uri for _, uri in links if _readable(uri)]
        if not readable:
            if ended and links:
                shown = ", ".join(f"{name}: {uri}" for name, uri in links)
                raise NotFoundError(f"{where}: its logs are not kept by this server; see {shown}")
            if ended and reader is None:
                raise NotFoundError(f"{where} recorded no logs")
            return b""
        uri = readable[0]
        if uri.startswith(("/", "file://")):
            path = unquote(urlparse(uri).path) if uri.startswith("file://") else uri
            try:
                return await anyio.to_thread.run_sync(_read_file, path, offset)
            except FileNotFoundError:
                if not ended:
                    return b""  # the attempt has not opened it yet
                raise NotFoundError(f"{where}: its log file {path} is gone (pruned, or written on "
                                    "another machine)") from None
        try:
            data = await self.store.get(uri)
        except NotFoundError:
            if not ended:
                return b""  # uploaded when the attempt ends
            raise NotFoundError(f"{where}: its log {uri} is gone (pruned)") from None
        return data[offset:]


def plugin_log_readers(plugins: Iterable[object]) -> dict[str, LogReader]:
    """The readers of the task plugins that declare ``ReadsLogs``, by name: what a server gives
    its log service once it has loaded its plugins
    (``admin.logs.readers.update(plugin_log_readers(registry.plugins))``)."""
    return {plugin.name: plugin.read_logs for plugin in plugins
            if isinstance(plugin, TaskPlugin) and isinstance(plugin, ReadsLogs) and plugin.name}


async def read_local_process_log(handle: Any, offset: int = 0) -> bytes:
    """The local-process target's reader: its handle names the attempt's log file (on this
    machine: the target runs attempts where the engine runs)."""
    path = handle.get("log") if isinstance(handle, dict) else None
    if not path:
        return b""
    return await anyio.to_thread.run_sync(_read_file, str(path), offset)


def _readable(uri: str) -> bool:
    return uri.startswith(("/", "file://", "s3://"))


def _read_file(path: str, offset: int) -> bytes:
    with open(path, "rb") as file:
        size = os.fstat(file.fileno()).st_size
        if offset >= size:
            return b""
        file.seek(offset)
        return file.read(min(size - offset, READ_BYTES))
