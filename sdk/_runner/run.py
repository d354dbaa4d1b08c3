"""Local runs: a task, workflow or launch plan called outside a workflow body runs
through the engine in this process: types checked, retries and timeouts honoured."""

from __future__ import annotations

import asyncio
import inspect
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

import anyio

from wingspan._runner.declared import DeclaredKinds
from wingspan.core.engine import (
    EventSink,
    LaunchPlanTarget,
    RetryPolicy,
    RunResult,
    SignalSource,
    WorkflowRun,
)
from wingspan.core.engine.inprocess import holds_data
from wingspan.core.errors import ExecutionFailedError, TypeTransformerError, UserError
from wingspan.core.model.execution import WorkflowPhase
from wingspan.core.model.interface import Identifier
from wingspan.core.model.tasks import TaskTemplate
from wingspan.core.model.workflows import CompiledWorkflow, DynamicJobSpec
from wingspan.core.types import ValueMismatch, default_engine, type_repr
from wingspan.core.types.files import Directory, File, files_from_text, mentions_files
from wingspan.core.types.frames import frame_parts, load_in_task
from wingspan.core.types.remote_reads import unreadable_reason

__all__ = ["Runnable", "SdkResolver", "SdkTaskRunner", "outputs_of", "run_workflow_entity"]


class Runnable(Protocol):
    """What the runner reads of an entity of the authoring API (which sits above it)."""

    name: str
    kind_label: str

    @property
    def interface(self) -> Any: ...


class SdkTaskRunner:
    """A task of the SDK as the engine runs it in this process."""

    def __init__(self, task: Any, resolver: SdkResolver) -> None:
        self.task = task
        self.template: TaskTemplate = task.template
        self.input_types = task.interface.inputs
        self.output_types = task.interface.outputs
        self._kinds = DeclaredKinds(self.input_types, self.output_types)
        fn = getattr(task, "fn", None)
        self.is_async = fn is not None and inspect.iscoroutinefunction(fn)
        self._resolver = resolver
        self._where = f"{task.kind_label} {task.name!r}"
        self._frame_outputs = {name for name, py_type in self.output_types.items()
                               if frame_parts(py_type)[1]}
        # inputs that may receive a stored DataFrame to load as the frame they declare
        self._frame_inputs = {name for name, literal_type in _literal_types(task).items()
                              if literal_type.kind == "structured_dataset_type"}

    def call(self, inputs: dict[str, Any]) -> dict[str, Any]:
        if hasattr(self.task, "run_command"):
            return self.task.run_command(inputs)  # type: ignore[no-any-return]
        if self._kinds.adapts_inputs:
            inputs = self._kinds.inputs(inputs)
        if self._frame_inputs:
            engine = default_engine()
            inputs = {name: load_in_task(value, self.input_types[name], engine) if name in self._frame_inputs
                      else value for name, value in inputs.items()}
        return self._check(self.task.fn(**inputs))

    async def call_async(self, inputs: dict[str, Any]) -> dict[str, Any]:
        if self._kinds.adapts_inputs:
            inputs = self._kinds.inputs(inputs)
        return self._check(await self.task.fn(**inputs))

    def _check(self, returned: Any) -> dict[str, Any]:
        outputs: dict[str, Any] = self.task.interface.unpack_outputs(returned, self._where)
        engine = default_engine()
        for name, value in outputs.items():
            py_type = self.output_types[name]
            if not engine.fits(value, py_type):
                raise TypeTransformerError(
                    f"{self._where} returned {type(value).__name__} {value!r:.60} for output {name!r}, "
                    f"which is declared {type_repr(py_type)}"
                )
            if name in self._frame_outputs:  # its declared columns, as a stored one would have
                try:
                    outputs[name] = engine.transformer_for(py_type).adapt(value, py_type, engine)
                except ValueMismatch as exc:
                    raise TypeTransformerError(f"{self._where}, output {exc.render(name)}") from None
        if self._kinds.adapts_outputs:
            self._kinds.outputs(outputs)
        return outputs

    def build_dynamic(self, inputs: dict[str, Any]) -> tuple[DynamicJobSpec, SdkResolver]:
        spec, entities = self.task.build(inputs)
        return spec, SdkResolver({**self._resolver.entities, **entities})


def _literal_types(task: Any) -> dict[str, Any]:
    typed = getattr(task.interface, "typed", None)
    return {v.name: v.type for v in typed.inputs if v.type is not None} if typed is not None else {}


class SdkResolver:
    """Resolves ids to the SDK entities a workflow reached when it was defined."""

    def __init__(self, entities: dict[Identifier, Any]) -> None:
        self.entities = entities
        # keyed by plain strings: hashing an Identifier record per node costs more
        self._runners: dict[tuple[str, str, str, str], SdkTaskRunner] = {}

    def _entity(self, entity_id: Identifier) -> Any:
        try:
            return self.entities[entity_id]
        except KeyError:
            raise LookupError(f"{entity_id} is not part of this workflow's closure") from None

    def task(self, task_id: Identifier) -> SdkTaskRunner:
        key = (task_id.name, task_id.version, task_id.project, task_id.domain)
        runner = self._runners.get(key)
        if runner is None:
            runner = self._runners[key] = SdkTaskRunner(self._entity(task_id), self)
        return runner

    def workflow(self, workflow_id: Identifier) -> CompiledWorkflow:
        primary = self._entity(workflow_id).closure.primary
        assert primary is not None
        return primary  # type: ignore[no-any-return]

    def launch_plan(self, launch_plan_id: Identifier) -> LaunchPlanTarget:
        plan = self._entity(launch_plan_id)
        return LaunchPlanTarget(plan.workflow.closure, dict(plan.python_defaults), dict(plan.fixed),
                                SdkResolver(plan.entities), plan.name)


def _check_inputs(entity: Runnable, values: dict[str, Any]) -> None:
    engine = default_engine()
    for name, value in values.items():
        py_type = entity.interface.inputs[name]
        if not engine.fits(value, py_type):
            raise TypeTransformerError(f"{entity.kind_label} {entity.name!r}, input {name!r}: expected "
                                       f"{type_repr(py_type)}, got {type(value).__name__} {value!r:.60}")
        if mentions_files(py_type):  # a path given as text for a File
            values[name] = files_from_text(value, py_type)
    missing = [n for n in entity.interface.inputs if n not in values]
    if missing:
        raise TypeError(f"{entity.kind_label} {entity.name!r} is missing required inputs {missing}")
    typed = getattr(entity.interface, "typed", None)
    with_data = {v.name for v in typed.inputs if holds_data(v.type)} if typed is not None else set(values)
    for name, value in values.items():
        if name not in with_data:  # only inputs typed to hold files or folders are walked
            continue
        for reference in _remote_references(value):
            reason = unreadable_reason(reference.uri or "", folder=isinstance(reference, Directory))
            if reason:
                raise UserError(f"{entity.kind_label} {entity.name!r}, input {name!r}: {reference!r} "
                                f"cannot be read here: {reason}")


def _remote_references(value: Any) -> list[File | Directory]:
    """The files and folders in an input that name a URI and came with no store to read it."""
    if isinstance(value, (File, Directory)):
        return [value] if value.uri is not None and value.store is None else []
    if isinstance(value, (list, tuple)):
        return [found for item in value for found in _remote_references(item)]
    if isinstance(value, dict):
        return [found for item in value.values() for found in _remote_references(item)]
    return []


def _run_sync(coroutine_fn: Any) -> RunResult:
    """Runs on a fresh event loop, in a helper thread when this thread already runs one
    (Jupyter, async tests): calling a workflow must work from there too."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        in_a_loop = False
    else:
        in_a_loop = True
    if not in_a_loop:  # outside the except block: a task's error must not chain to that RuntimeError
        return anyio.run(coroutine_fn)  # type: ignore[no-any-return]
    with ThreadPoolExecutor(1, thread_name_prefix="wingspan-run") as pool:
        return pool.submit(anyio.run, coroutine_fn).result()  # type: ignore[no-any-return]


def run_workflow_entity(workflow: Any, values: dict[str, Any], *, sink: EventSink | None = None,
                        signals: SignalSource | None = None, retry: RetryPolicy | None = None,
                        max_parallelism: int = 0, execution_id: str | None = None,
                        target: str | None = None) -> RunResult:
    """Runs a workflow (or a single-node wrapper of any entity) and returns the raw result.

    ``target`` chooses where tasks run (``"local-process"``, or ``"python=local-process,..."``);
    by default the ``task_targets`` setting (``WINGSPAN_TASK_TARGETS``), else in this process.
    """
    from wingspan._runner.parts import engine_parts

    inputs = {**workflow.interface.defaults, **values}
    _check_inputs(workflow, inputs)
    executor, cache = engine_parts(workflow.closure, target)
    run = WorkflowRun(workflow.closure, inputs, SdkResolver(workflow.entities), sink=sink,
                      signals=signals, retry=retry, max_parallelism=max_parallelism,
                      execution_id=execution_id, private_loop=True, executor=executor, cache=cache)
    return _run_sync(run.run)


def outputs_of(workflow: Any, result: RunResult) -> Any:
    """A successful result as the workflow's function returns it, or the failure raised."""
    from wingspan.core.engine.values import materialize

    if result.phase != WorkflowPhase.SUCCEEDED:
        error = result.error
        node = error.node_id if error else ""
        message = error.message if error else result.phase.name
        cause = result.exception
        if cause is not None and cause.__traceback__ is not None:
            # its traceback is printed as the cause: the message need not repeat it (an
            # exception from another process has none: the message keeps the trace then)
            message = f"{type(cause).__name__}: {cause}"
        raise ExecutionFailedError(
            f"{workflow.kind_label} {workflow.name!r} {result.phase.name.lower().replace('_', ' ')}"
            + (f" at node {node!r}" if node else "") + f": {message}",
            node_id=node, phase=result.phase.name, code=error.code if error else "",
        ) from result.exception
    outputs = {name: materialize(result.outputs[name], py_type, name)
               for name, py_type in workflow.interface.outputs.items()}
    return workflow.interface.pack_outputs(outputs)
