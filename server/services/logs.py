"""Task logs (GetTaskLogs): the bytes an attempt wrote, from an offset, optionally followed.

Where the bytes are: an attempt run by a plugin that can read its own logs (the
Kubernetes plugin reads a pod's; the local-process target's handle names its log file)
is read through that plugin's reader, chosen by the attempt's ``plugin`` column, so it
can be read as soon as the attempt has started; any other attempt through its log links
(``task_executions.logs``): a file on this machine (a path or ``file://`` URI, what the
local-process target writes) or an object in the blob store. Links to anything else
(a dashboard URL) are shown to users by the console, not read here.

What is opened: handles and links arrive in task events, so they are a caller's words,
not facts. The service opens only what a task target of this server produces for this
execution: a file inside the execution's folder of the server's logs folder
(``<home>/logs/<project>-<domain>-<name>/``, where the local-process target writes;
symbolic links resolved first), or a blob-store object below the execution's own prefix
(``executions/<project>/<domain>/<name>/``). Any other location, such as ``/etc/passwd``
or another execution's log, is shown as a link and never read.

Following: the stream stays open and sends new output as it is written, until the
attempt (or its execution) has ended; the file and the row are read again every
``poll_interval`` seconds, or at once when an event of the execution is recorded in
this process (``wake``).
"""

from __future__ import annotations

import functools
import json
import os
import stat
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import anyio
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from wingspan.core.errors import InvalidArgumentError, NotFoundError
from wingspan.core.model.interface import ExecutionId, NodeExecutionId
from wingspan.core.plugins import ReadsLogs, TaskPlugin
from wingspan.core.plugins.executor import execution_work_dir
from wingspan.core.storage import BlobStore
from wingspan.server.db.engine import Database, now
from wingspan.server.db.models import ExecutionRow, NodeExecutionRow, TaskExecutionRow, key
from wingspan.server.db.queries import execution_row
from wingspan.server.services.identifiers import check_execution_id
from wingspan.server.services.map_item_reads import read_maps
from wingspan.server.services.map_items import item_of
from wingspan.server.services.phases import is_terminal

__all__ = ["LogChunk", "LogReader", "LogService", "plugin_log_readers"]

#: a plugin's log reader, its ``read_logs(handle, offset)``: the attempt's handle (decoded from
#: the JSON the engine stores) and a byte offset -> the bytes from there
LogReader = Callable[[Any, int], Awaitable[bytes]]
#: an event to wait on that is set when an event of the execution (by row id) is recorded
Wake = Callable[[int], anyio.Event]

LOCAL_PROCESS = "local-process"
#: bytes per message, and at most per read of a file (a larger rest is read in the next round)
CHUNK_BYTES = 256 * 1024
READ_BYTES = 16 * CHUNK_BYTES


@dataclass(frozen=True, slots=True)
class LogChunk:
    """Bytes of a log; ``next_offset`` is where the next read starts; ``complete`` marks the last
    chunk once the attempt has ended."""

    data: bytes
    next_offset: int
    complete: bool = False


class LogService:
    """``readers`` maps a task plugin's name to its log reader (see :data:`LogReader`); the
    local-process target's is built in (it reads only inside the execution's logs folder)."""

    def __init__(self, db: Database, store: BlobStore, logs_folder: Path, *,
                 readers: Mapping[str, LogReader] | None = None,
                 wake: Wake | None = None, poll_interval: float = 0.5) -> None:
        self.db = db
        self.store = store
        #: the only folder whose files are read (its real path: a link to it is followed once)
        self.logs_folder = Path(os.path.realpath(logs_folder))
        self.readers: dict[str, LogReader] = dict(readers or {})
        self.wake = wake
        self.poll_interval = poll_interval

    async def get_task_logs(
        self, node_execution_id: NodeExecutionId | None, attempt_number: int | None = None,
        offset: int = 0, *, follow: bool = False,
    ) -> AsyncIterator[LogChunk]:
        """Chunks of the attempt's log (the last attempt unless ``attempt_number``) from
        ``offset``, followed while it runs if asked; the first one at once (maybe empty),
        the last one marked ``complete`` once the attempt has ended and all is out."""
        if node_execution_id is None or not node_execution_id.node_id:
            raise InvalidArgumentError("GetTaskLogs: the node execution id is missing")
        execution, attempt = await self._attempt(node_execution_id, attempt_number)
        where = (f"node {node_execution_id.node_id!r} attempt {attempt.attempt} "
                 f"of execution {execution.name}")
        first = True
        while True:
            # the waiter comes before the reads, so an event recorded in between still wakes us
            waiter = self.wake(key(execution)) if self.wake is not None and follow else None
            execution, attempt = await self._reload(execution, attempt)
            # ended before the read: everything it wrote is in what the read sees
            ended = is_terminal("task", attempt.phase) or is_terminal("workflow", execution.phase)
            data = await self._read(execution, attempt, offset, ended, where)
            more = len(data) >= READ_BYTES
            last = (ended or not follow) and not more
            for start in range(0, max(len(data), 1), CHUNK_BYTES):
                piece = data[start:start + CHUNK_BYTES]
                offset += len(piece)
                final = last and start + CHUNK_BYTES >= len(data)
                if piece or first or final:
                    yield LogChunk(piece, offset, final and ended)
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

    async def _attempt(self, node_execution_id: NodeExecutionId, attempt: int | None
                       ) -> tuple[ExecutionRow, TaskExecutionRow]:
        execution_id = check_execution_id(node_execution_id.execution_id, "GetTaskLogs: execution id")
        node_id = node_execution_id.node_id
        async with self.db.read() as session:
            execution = await execution_row(session, execution_id)
            if execution is None:
                raise NotFoundError(f"execution {execution_id.project}/{execution_id.domain}/"
                                    f"{execution_id.name} does not exist")
            node = (await session.execute(select(NodeExecutionRow.id).where(
                NodeExecutionRow.execution_id == execution.id, NodeExecutionRow.node_id == node_id))
            ).scalar_one_or_none()
            if node is None:
                aggregated = await _aggregated_attempt(session, execution, node_id)
                if aggregated is None:
                    raise NotFoundError(f"execution {execution.name} has no node {node_id!r} (yet)")
                if attempt not in (None, 0):
                    raise NotFoundError(
                        f"node {node_id!r} of execution {execution.name} has no attempt {attempt}")
                return execution, aggregated
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
            fresh_attempt = (await session.get(TaskExecutionRow, key(attempt)) if attempt.id is not None
                             else await _aggregated_attempt(session, execution, attempt.node_id))
        if fresh_execution is None or fresh_attempt is None:
            raise NotFoundError(f"execution {execution.name} was deleted while its logs were read")
        return fresh_execution, fresh_attempt

    async def _read(self, execution: ExecutionRow, attempt: TaskExecutionRow, offset: int, ended: bool,
                    where: str) -> bytes:
        """The bytes from ``offset``; empty when there are none yet."""
        reader = self.readers.get(attempt.plugin) if attempt.plugin else None
        if attempt.plugin == LOCAL_PROCESS and reader is None:
            reader = functools.partial(self._read_local_process_log, execution)
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
        readable = [uri for _, uri in links
                    if self._own_file(uri, execution) or self._own_object(uri, execution)]
        if not readable:
            if ended and links:
                shown = ", ".join(f"{name}: {uri}" for name, uri in links)
                raise NotFoundError(f"{where}: its logs are not kept by this server; see {shown}")
            if ended and reader is None:
                raise NotFoundError(f"{where} recorded no logs")
            return b""
        uri = readable[0]
        path = self._own_file(uri, execution)
        if path is not None:
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

    def _own_file(self, location: str, execution: ExecutionRow) -> str | None:
        """The real path of ``location`` (a path or ``file://`` URI) when it is a file inside
        the execution's logs folder, else None: nothing else on this machine is ever opened."""
        if location.startswith("file://"):
            parsed = urlparse(location)
            if parsed.netloc not in ("", "localhost"):
                return None
            location = unquote(parsed.path)
        if not location.startswith("/") or "\0" in location:
            return None
        real = Path(os.path.realpath(location))
        folder = execution_work_dir(self.logs_folder,
                                    f"{execution.project}/{execution.domain}/{execution.name}")
        return str(real) if real.is_relative_to(folder) and real != folder else None

    def _own_object(self, uri: str, execution: ExecutionRow) -> bool:
        """Whether ``uri`` names an object of the blob store below the execution's own prefix."""
        prefix = self.store.uri("executions", execution.project, execution.domain, execution.name) + "/"
        if not uri.startswith(prefix):
            return False
        try:
            key = self.store.key_of(uri)
        except ValueError:  # InvalidUriError is one: outside the root, or not a canonical key
            return False
        return str(self.store.uri(key)) == uri

    async def _read_local_process_log(self, execution: ExecutionRow, handle: Any, offset: int = 0) -> bytes:
        """The local-process target's reader: its handle names the attempt's log file (on this
        machine: the target runs attempts where the engine runs), read only when inside the
        execution's logs folder, where that target writes."""
        path = handle.get("log") if isinstance(handle, dict) else None
        if not path:
            return b""
        own = self._own_file(str(path), execution)
        if own is None:
            raise NotFoundError(f"the log {str(path)[:200]!r} of this attempt is outside the execution's "
                                f"logs folder below {self.logs_folder}: it is not read")
        return await anyio.to_thread.run_sync(_read_file, own, offset)


def plugin_log_readers(plugins: Iterable[object]) -> dict[str, LogReader]:
    """The readers of the task plugins that declare ``ReadsLogs``, by name: what a server gives
    its log service once it has loaded its plugins
    (``admin.logs.readers.update(plugin_log_readers(registry.plugins))``)."""
    return {plugin.name: plugin.read_logs for plugin in plugins
            if isinstance(plugin, TaskPlugin) and isinstance(plugin, ReadsLogs) and plugin.name}


def _read_file(path: str, offset: int) -> bytes:
    # the path is already resolved: a link put in its place since then is not followed
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    with open(fd, "rb") as file:
        if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
            raise FileNotFoundError(f"{path} is not a regular file")
        size = os.fstat(file.fileno()).st_size
        if offset >= size:
            return b""
        file.seek(offset)
        return file.read(min(size - offset, READ_BYTES))


async def _aggregated_attempt(session: AsyncSession, execution: ExecutionRow, node_id: str
                              ) -> TaskExecutionRow | None:
    """The first attempt of a map item with no rows of its own, as its map's aggregate has it (an
    unsaved row, no id): its phase, and its chunk's log links."""
    item = item_of(node_id)
    stored = (await read_maps(session, key(execution), item[0])).get(item[0]) if item else None
    if item is None or stored is None or not stored.aggregated(item[1]):
        return None
    attempts = stored.item(item[1]).attempts(ExecutionId(execution.project, execution.domain, execution.name))
    if not attempts or attempts[0].closure is None:
        return None
    closure = attempts[0].closure
    at = closure.updated_at or closure.started_at or now()
    return TaskExecutionRow(execution_id=key(execution), node_id=node_id, attempt=0, phase=int(closure.phase),
                            logs=json.dumps([[log.name, log.uri] for log in closure.logs]),
                            created_at=at, updated_at=at)
