# mypy: disable-error-code="no-any-return"
"""The server's side of an eager body's calls: whatever code location a call names, the
task (or the tasks of the workflow) it launches runs with the eager task's own bundle."""

from __future__ import annotations

from typing import Any

from wingspan import eager, task, workflow
from wingspan.core.engine.interfaces import AttemptOutcome, AttemptRequest, WorkflowTarget
from wingspan.core.model.execution import TaskPhase
from wingspan.core.model.record import replace
from wingspan.core.model.tasks import CodeReference, TaskTemplate
from wingspan.core.model.workflows import CompiledTask, CompiledWorkflowClosure
from wingspan.server.engine.resolver import RegisteredResolver, RegisteredTask

OURS, THEIRS = "s3://bundles/ours.tar.gz", "s3://bundles/someone-elses.tar.gz"


@task
def step(x: int) -> int:
    return x


@workflow
def flow(x: int) -> int:
    return step(x=x)


@eager
async def body(x: int) -> int:
    return await step(x=x)


def _elsewhere(template: TaskTemplate) -> TaskTemplate:
    return replace(template, code=replace(template.code or CodeReference(), bundle_uri=THEIRS))


async def test_calls_run_with_the_eager_tasks_bundle() -> None:
    launched: list[Any] = []

    async def launch(target: Any, label: str, inputs: dict[str, Any]) -> dict[str, Any]:
        launched.append(target)
        return {}

    async def run_attempt(request: AttemptRequest) -> AttemptOutcome:
        # what a worker running the body sends: a task, then a workflow, naming another bundle
        assert request.eager_calls is not None
        await request.eager_calls(_elsewhere(step.template), "step", {})
        closure = flow.closure
        tasks = tuple(CompiledTask(_elsewhere(t.template)) for t in closure.tasks if t.template)
        await request.eager_calls(replace(closure, tasks=tasks), "flow", {})
        return AttemptOutcome(TaskPhase.SUCCEEDED)

    resolver = RegisteredResolver(CompiledWorkflowClosure(), {}, run_attempt=run_attempt)
    template = replace(body.template, code=replace(body.template.code or CodeReference(), bundle_uri=OURS))
    eager_task = RegisteredTask(template, resolver)
    outcome = await eager_task.run_eager(AttemptRequest(eager_task, {}, "e", "n0", 0), launch)
    assert outcome.phase == TaskPhase.SUCCEEDED
    called_task, called_flow = launched
    assert isinstance(called_task, RegisteredTask) and called_task.template.code is not None
    assert called_task.template.code.bundle_uri == OURS
    assert isinstance(called_flow, WorkflowTarget)
    inner = called_flow.resolver.task(step.id)
    assert inner.template.code is not None and inner.template.code.bundle_uri == OURS
