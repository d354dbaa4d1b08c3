"""The nodes of an execution on a server: listing them (``Remote.nodes``) and reading the logs
their task attempts wrote (``Remote.logs``): one node's attempts, or every task node's.

The server streams one attempt's log (GetTaskLogs); this module picks the attempts: the
asked one, else the latest, and when following, the retries that come after it, until
the node has ended. Without a node it reads every node that ran a task, in the order
they were created, children of dynamic, subworkflow and map nodes included.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import anyio

from wingspan._remote.transport import Transport
from wingspan.core.engine.reports import REPORT_LOG
from wingspan.core.errors import NotFoundError
from wingspan.core.model import codec
from wingspan.core.model.execution import (
    ENDED_WORKFLOW_PHASES,
    CacheStatus,
    NodePhase,
    TaskPhase,
    WorkflowPhase,
)
from wingspan.core.model.interface import ExecutionId
from wingspan.protos import v1

__all__ = ["LogChunk", "list_nodes", "list_reports", "read_logs"]

#: how often a follower looks for new nodes and attempts (the bytes themselves are pushed)
POLL_SECONDS = 0.5
_NO_RETRY = {TaskPhase.SUCCEEDED, TaskPhase.ABORTED}
_NODE_ENDED = {NodePhase.SUCCEEDED, NodePhase.FAILED, NodePhase.SKIPPED, NodePhase.TIMED_OUT,
               NodePhase.ABORTED, NodePhase.RECOVERED}


@dataclass(frozen=True)
class LogChunk:
    """Bytes a task attempt wrote, from ``offset`` of its log."""

    node_id: str
    attempt: int
    data: bytes
    offset: int


async def read_logs(transport: Transport, execution_id: ExecutionId, node_id: str | None,
                    attempt: int | None, follow: bool) -> AsyncIterator[LogChunk]:
    if node_id:
        async for chunk in _node_logs(transport, execution_id, node_id, attempt, follow):
            yield chunk
        return
    done: set[str] = set()
    while True:
        # before the listing: nothing comes after
        ended = await _execution_ended(transport, codec.to_proto(execution_id))
        for node in await _task_nodes(transport, execution_id):
            if node in done:
                continue
            async for chunk in _node_logs(transport, execution_id, node, attempt, follow):
                yield chunk
            done.add(node)
        if not follow or ended:
            return
        await anyio.sleep(POLL_SECONDS)


async def _node_logs(transport: Transport, execution_id: ExecutionId, node_id: str, attempt: int | None,
                     follow: bool) -> AsyncIterator[LogChunk]:

    node = v1.NodeExecutionId(execution_id=codec.to_proto(execution_id), node_id=node_id)
    current = attempt if attempt is not None else await _latest_attempt(transport, node, follow)
    while current is not None:
        request = v1.GetTaskLogsRequest(node_execution_id=node, attempt=current, follow=follow)
        offset = 0
        async for message in transport.stream("get_task_logs", request, f"read the logs of {node_id}"):
            if message.data:
                yield LogChunk(node_id, current, bytes(message.data), offset)
            offset = int(message.next_offset)
        if attempt is not None or not follow:
            return
        current = await _next_attempt(transport, node, current)


async def _task_executions(transport: Transport, node: Any) -> list[Any]:
    """The node's attempts (IDL ``TaskExecution`` messages), in order."""

    answer = await transport.call("list_task_executions", v1.ListTaskExecutionsRequest(
        node_execution_id=node, limit=100), f"list the attempts of {node.node_id}")
    return sorted(answer.task_executions, key=lambda t: int(t.id.attempt))


async def _attempts(transport: Transport, node: Any) -> dict[int, TaskPhase]:
    """The node's attempts and their phases, in order."""

    return {int(t.id.attempt): TaskPhase(int(t.closure.phase)) if t.closure else TaskPhase.UNDEFINED
            for t in await _task_executions(transport, node)}


def _report_of(attempts: list[Any]) -> tuple[int, str] | None:
    """The latest attempt that stored a report, and the report's URI."""
    for attempt in reversed(attempts):
        for log in attempt.closure.logs if attempt.closure else ():
            if log.name == REPORT_LOG:
                return int(attempt.id.attempt), str(log.uri)
    return None


async def _node_phase(transport: Transport, node: Any) -> NodePhase:
    found = await transport.call("get_node_execution", v1.GetNodeExecutionRequest(id=node),
                               f"get node {node.node_id}")
    return NodePhase(int(found.closure.phase)) if found.closure else NodePhase.UNDEFINED


async def _latest_attempt(transport: Transport, node: Any, follow: bool) -> int | None:
    """The node's latest attempt; when following, waits for its first one."""
    while True:
        try:
            attempts = await _attempts(transport, node)
        except NotFoundError:
            if not follow:
                raise
            attempts = {}  # the node has not started yet
        if attempts:
            return max(attempts)
        if not follow:
            raise NotFoundError(f"node {node.node_id!r} of execution {node.execution_id.name} has no "
                                "task attempts (yet): only task nodes have logs")
        if await _execution_ended(transport, node.execution_id):
            return None
        await anyio.sleep(POLL_SECONDS)


async def _next_attempt(transport: Transport, node: Any, after: int) -> int | None:
    """The attempt after ``after`` once it starts (a retry); None when none can come."""
    while True:
        attempts = await _attempts(transport, node)
        later = [a for a in attempts if a > after]
        if later:
            return later[0]
        if attempts.get(after) in _NO_RETRY:
            return None
        if await _node_phase(transport, node) in _NODE_ENDED:
            return None
        if await _execution_ended(transport, node.execution_id):
            return None
        await anyio.sleep(POLL_SECONDS)


async def list_nodes(transport: Transport, execution_id: ExecutionId) -> list[dict[str, Any]]:
    """Every node of the execution, parents before their children: id, name, phase, attempts,
    cache status, seconds taken, the first line of its error, and its report (the blob URI of
    the page of the decks its latest reporting attempt made; "" when none did)."""

    rows = []
    for node in await _walk(transport, execution_id):
        closure = node.closure
        error = closure.error.message if closure and closure.error else ""
        duration = closure.duration if closure else None
        attempts = await _task_executions(transport, node.id) if closure and not closure.is_parent else []
        report = _report_of(attempts)
        rows.append({
            "node": node.id.node_id, "name": closure.node_name if closure else "",
            "phase": NodePhase(int(closure.phase)).name if closure else "",
            "attempts": len(attempts),
            "cache": CacheStatus(int(closure.cache_status)).name.lower() if closure else "",
            "seconds": round(duration.total_seconds(), 3) if duration is not None else None,
            "error": error.splitlines()[0] if error else (closure.reason if closure else ""),
            "report": report[1] if report else "",
        })
    return rows


async def list_reports(transport: Transport, execution_id: ExecutionId, node_id: str | None,
                       attempt: int | None) -> list[dict[str, Any]]:
    """The reports of the execution's task nodes (or of ``node_id``): for each node, that of
    ``attempt`` or of its latest attempt that made one, as ``node``, ``attempt`` and ``uri``."""

    if node_id:
        nodes = [v1.NodeExecutionId(execution_id=codec.to_proto(execution_id), node_id=node_id)]
    else:
        nodes = [n.id for n in await _walk(transport, execution_id) if n.closure and not n.closure.is_parent]
    found = []
    for node in nodes:
        attempts = await _task_executions(transport, node)
        if attempt is not None:
            attempts = [a for a in attempts if int(a.id.attempt) == attempt]
        report = _report_of(attempts)
        if report is not None:
            found.append({"node": node.node_id, "attempt": report[0], "uri": report[1]})
    return found


async def _walk(transport: Transport, execution_id: ExecutionId) -> list[Any]:
    """Every node execution (IDL messages), parents before their children."""

    found: list[Any] = []

    async def walk(parent: str) -> None:
        token = ""
        while True:
            answer = await transport.call("list_node_executions", v1.ListNodeExecutionsRequest(
                execution_id=codec.to_proto(execution_id), parent_node_id=parent, limit=500, token=token),
                f"list the nodes of {execution_id.name}")
            for node in answer.node_executions:
                found.append(node)
                if node.closure is not None and node.closure.is_parent:
                    await walk(node.id.node_id)
            token = answer.next_token
            if not token:
                return

    await walk("")
    return found


async def _task_nodes(transport: Transport, execution_id: ExecutionId) -> list[str]:
    """Every node of the execution that has task attempts, parents before their children
    (gates, branches and subworkflows have none, and no logs)."""
    with_attempts = []
    for node in await _walk(transport, execution_id):
        if await _attempts(transport, node.id):
            with_attempts.append(node.id.node_id)
    return with_attempts


async def _execution_ended(transport: Transport, execution_id: Any) -> bool:
    found = await transport.call("get_execution", v1.GetExecutionRequest(id=execution_id),
                                 f"get execution {execution_id.name}")
    return found.closure is not None and WorkflowPhase(int(found.closure.phase)) in ENDED_WORKFLOW_PHASES
