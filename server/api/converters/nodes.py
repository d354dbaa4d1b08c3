"""Node executions and their attempts, and their data."""

from __future__ import annotations

from wingspan.core.model import codec
from wingspan.core.model.progress import NodeExecution, TaskExecution
from wingspan.protos import v1
from wingspan.server.services.nodes import NodeExecutionData, TaskExecutionData
from wingspan.server.services.pagination import Page

__all__ = [
    "node_data_message",
    "node_message",
    "nodes_message",
    "task_data_message",
    "task_execution_message",
    "task_executions_message",
]


def node_message(node: NodeExecution) -> v1.NodeExecution:
    message: v1.NodeExecution = codec.to_proto(node)
    return message


def nodes_message(found: Page[NodeExecution]) -> v1.ListNodeExecutionsResponse:
    return v1.ListNodeExecutionsResponse(node_executions=[node_message(n) for n in found.items],
                                         next_token=found.next_token)


def task_execution_message(attempt: TaskExecution) -> v1.TaskExecution:
    message: v1.TaskExecution = codec.to_proto(attempt)
    return message


def task_executions_message(found: Page[TaskExecution]) -> v1.ListTaskExecutionsResponse:
    return v1.ListTaskExecutionsResponse(task_executions=[task_execution_message(t) for t in found.items],
                                         next_token=found.next_token)


def node_data_message(data: NodeExecutionData) -> v1.NodeExecutionData:
    return v1.NodeExecutionData(
        inputs=codec.to_proto(data.inputs) if data.inputs is not None else None,
        outputs=codec.to_proto(data.outputs) if data.outputs is not None else None,
        dynamic_spec=codec.to_proto(data.dynamic_spec) if data.dynamic_spec is not None else None,
    )


def task_data_message(data: TaskExecutionData) -> v1.TaskExecutionData:
    return v1.TaskExecutionData(
        inputs=codec.to_proto(data.inputs) if data.inputs is not None else None,
        outputs=codec.to_proto(data.outputs) if data.outputs is not None else None,
    )
