"""Executions: what to run in, the executions and their data out."""

from __future__ import annotations

from wingspan.core.model import codec
from wingspan.protos import v1
from wingspan.server.services.executions import Execution, ExecutionData
from wingspan.server.services.pagination import Page

__all__ = ["created_message", "data_message", "execution_message", "executions_message"]


def execution_message(execution: Execution) -> v1.Execution:
    """The Execution message (inputs and outputs aside: GetExecutionData has them)."""
    closure = v1.ExecutionClosure(
        phase=v1.WorkflowPhase(int(execution.phase)),
        created_at=execution.created_at,
        started_at=execution.started_at,
        updated_at=execution.updated_at,
        duration=execution.duration,
        error=codec.to_proto(execution.error) if execution.error is not None else None,
        reason=execution.reason,
        workflow_id=codec.to_proto(execution.workflow_id) if execution.workflow_id is not None else None,
        state=v1.ExecutionState(int(execution.state)),
    )
    return v1.Execution(id=codec.to_proto(execution.id), spec=codec.to_proto(execution.spec), closure=closure)


def created_message(execution: Execution) -> v1.CreateExecutionResponse:
    message = execution_message(execution)
    return v1.CreateExecutionResponse(id=message.id, execution=message)


def executions_message(found: Page[Execution]) -> v1.ListExecutionsResponse:
    return v1.ListExecutionsResponse(executions=[execution_message(e) for e in found.items],
                                     next_token=found.next_token)


def data_message(data: ExecutionData) -> v1.ExecutionData:
    return v1.ExecutionData(
        inputs=codec.to_proto(data.inputs) if data.inputs is not None else None,
        outputs=codec.to_proto(data.outputs) if data.outputs is not None else None,
    )
