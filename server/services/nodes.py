"""Node executions and task executions (one per attempt): list, get, data."""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import select

from wingspan.core.errors import InvalidArgumentError, NotFoundError
from wingspan.core.model.execution import NodePhase
from wingspan.server.db.engine import Database, utc
from wingspan.server.db.models import NodeExecutionRow, TaskExecutionRow
from wingspan.server.services.executions import ExecutionService
from wingspan.server.services.idl import v1
from wingspan.server.services.pagination import Field, ListQuery, page
from wingspan.server.services.payloads import Payloads

__all__ = ["NodeService"]

_NODE_FIELDS = {
    "node_id": Field(NodeExecutionRow.node_id, sortable=True),
    "phase": Field(NodeExecutionRow.phase, NodePhase),
    "created_at": Field(NodeExecutionRow.created_at, "time", sortable=True),
    "updated_at": Field(NodeExecutionRow.updated_at, "time", sortable=True),
    "node_name": Field(NodeExecutionRow.node_name),
}
_TASK_FIELDS = {"attempt": Field(TaskExecutionRow.attempt, "int", sortable=True)}


def _duration(row: Any) -> Any:
    started, finished = utc(row.started_at), utc(row.finished_at)
    return finished - started if started is not None and finished is not None else None


def _node(row: NodeExecutionRow, execution_id: Any) -> Any:
    closure = v1.NodeExecutionClosure(
        phase=v1.NodePhase(row.phase),
        started_at=utc(row.started_at),
        updated_at=utc(row.updated_at),
        duration=_duration(row),
        error=v1.ExecutionError.parse(row.error_bytes) if row.error_bytes else None,
        cache_status=v1.CacheStatus(row.cache_status),
        is_parent=row.is_parent,
        is_dynamic=row.is_dynamic,
        node_name=row.node_name,
        reason=row.reason,
    )
    return v1.NodeExecution(
        id=v1.NodeExecutionId(execution_id=execution_id, node_id=row.node_id),
        closure=closure,
        parent_node_id=row.parent_node_id,
    )


def _task(row: TaskExecutionRow, execution_id: Any) -> Any:
    closure = v1.TaskExecutionClosure(
        phase=v1.TaskPhase(row.phase),
        started_at=utc(row.started_at),
        updated_at=utc(row.updated_at),
        duration=_duration(row),
        error=v1.ExecutionError.parse(row.error_bytes) if row.error_bytes else None,
        logs=[v1.TaskLog(name=name, uri=uri) for name, uri in json.loads(row.logs)],
        plugin_handle=row.plugin_handle or b"",
        plugin=row.plugin,
        reason=row.reason,
    )
    task_id = v1.Identifier(
        resource_type=v1.ResourceType.TASK,
        project=row.task_project,
        domain=row.task_domain,
        name=row.task_name,
        version=row.task_version,
    )
    return v1.TaskExecution(
        id=v1.TaskExecutionId(
            task_id=task_id,
            node_execution_id=v1.NodeExecutionId(execution_id=execution_id, node_id=row.node_id),
            attempt=row.attempt,
        ),
        closure=closure,
    )


def _execution_id(row: Any) -> Any:
    return v1.ExecutionId(project=row.project, domain=row.domain, name=row.name)


class NodeService:
    def __init__(self, db: Database, payloads: Payloads, executions: ExecutionService) -> None:
        self.db = db
        self.payloads = payloads
        self.executions = executions

    async def list_node_executions(self, request: Any) -> Any:
        """The nodes directly under ``parent_node_id`` (top-level ones when it is empty), by
        creation order."""
        execution = await self.executions.row(request.execution_id)
        statement = select(NodeExecutionRow).where(
            NodeExecutionRow.execution_id == execution.id,
            NodeExecutionRow.parent_node_id == request.parent_node_id,
        )
        query = ListQuery(
            _NODE_FIELDS,
            NodeExecutionRow.id,
            "created_at",
            request.limit,
            request.token,
            list(request.filters),
            ascending=True,
        )
        statement, finish = page(statement, query)
        async with self.db.read() as session:
            rows, token = finish(list((await session.execute(statement)).scalars()))
        execution_id = _execution_id(execution)
        return v1.ListNodeExecutionsResponse(
            node_executions=[_node(r, execution_id) for r in rows], next_token=token
        )

    async def _node_row(self, node_execution_id: Any) -> tuple[Any, NodeExecutionRow]:
        if node_execution_id is None or not node_execution_id.node_id:
            raise InvalidArgumentError("the node execution id is missing")
        execution = await self.executions.row(node_execution_id.execution_id)
        async with self.db.read() as session:
            row = (
                await session.execute(
                    select(NodeExecutionRow).where(
                        NodeExecutionRow.execution_id == execution.id,
                        NodeExecutionRow.node_id == node_execution_id.node_id,
                    )
                )
            ).scalar_one_or_none()
        if row is None:
            raise NotFoundError(f"execution {execution.name} has no node {node_execution_id.node_id!r}")
        return execution, row

    async def get_node_execution(self, request: Any) -> Any:
        execution, row = await self._node_row(request.id)
        return _node(row, _execution_id(execution))

    async def get_node_execution_data(self, request: Any) -> Any:
        _, row = await self._node_row(request.id)
        inputs = await self.payloads.get(row.inputs_bytes, row.inputs_uri)
        outputs = await self.payloads.get(row.outputs_bytes, row.outputs_uri)
        dynamic = await self.payloads.get(row.dynamic_bytes, row.dynamic_uri)
        return v1.NodeExecutionData(
            inputs=v1.LiteralMap.parse(inputs) if inputs is not None else None,
            outputs=v1.LiteralMap.parse(outputs) if outputs is not None else None,
            dynamic_spec=v1.DynamicJobSpec.parse(dynamic) if dynamic is not None else None,
        )

    async def list_task_executions(self, request: Any) -> Any:
        execution, node = await self._node_row(request.node_execution_id)
        statement = select(TaskExecutionRow).where(
            TaskExecutionRow.execution_id == execution.id, TaskExecutionRow.node_id == node.node_id
        )
        query = ListQuery(
            _TASK_FIELDS,
            TaskExecutionRow.id,
            "attempt",
            request.limit,
            request.token,
            ascending=True,
        )
        statement, finish = page(statement, query)
        async with self.db.read() as session:
            rows, token = finish(list((await session.execute(statement)).scalars()))
        execution_id = _execution_id(execution)
        return v1.ListTaskExecutionsResponse(
            task_executions=[_task(r, execution_id) for r in rows], next_token=token
        )

    async def _task_row(self, task_execution_id: Any) -> tuple[Any, NodeExecutionRow, TaskExecutionRow]:
        if task_execution_id is None:
            raise InvalidArgumentError("the task execution id is missing")
        execution, node = await self._node_row(task_execution_id.node_execution_id)
        async with self.db.read() as session:
            row = (
                await session.execute(
                    select(TaskExecutionRow).where(
                        TaskExecutionRow.execution_id == execution.id,
                        TaskExecutionRow.node_id == node.node_id,
                        TaskExecutionRow.attempt == int(task_execution_id.attempt),
                    )
                )
            ).scalar_one_or_none()
        if row is None:
            raise NotFoundError(
                f"node {node.node_id!r} of execution {execution.name} has no attempt "
                f"{task_execution_id.attempt}"
            )
        return execution, node, row

    async def get_task_execution(self, request: Any) -> Any:
        execution, _, row = await self._task_row(request.id)
        return _task(row, _execution_id(execution))

    async def get_task_execution_data(self, request: Any) -> Any:
        _, node, row = await self._task_row(request.id)
        inputs = await self.payloads.get(node.inputs_bytes, node.inputs_uri)
        outputs = await self.payloads.get(row.outputs_bytes, row.outputs_uri)
        return v1.TaskExecutionData(
            inputs=v1.LiteralMap.parse(inputs) if inputs is not None else None,
            outputs=v1.LiteralMap.parse(outputs) if outputs is not None else None,
        )
