"""Local runs: a task, workflow or launch plan called outside a workflow body runs
through the engine in this process: types checked, retries and timeouts honoured."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import anyio

from wingspan._runner.declared import DeclaredKinds
from wingspan._runner.inputs import Runnable, check_inputs
from wingspan._runner.stubs import ACTIVE, TaskStub, stub_for, stubbed_among
from wingspan.core.engine import (
    AttemptOutcome,
    AttemptRequest,
    CallbackSignals,
    EagerLauncher,
    EventSink,
    LaunchPlanTarget,
    RetryPolicy,
    RunResult,
    SignalSource,
    WorkflowRun,
)
from wingspan.core.engine.context import current_context
from wingspan.core.errors import ExecutionFailedError, TypeTransformerError, UserError
from wingspan.core.model.execution import TaskPhase, WorkflowPhase
from wingspan.core.model.interface import Identifier
from wingspan.core.model.tasks import TaskTemplate
from wingspan.core.model.workflows import CompiledWorkflow, DynamicJobSpec
from wingspan.core.types import ValueMismatch, default_engine, type_repr
from wingspan.core.types.frames import frame_parts, load_in_task

__all__ = ["Runnable", "SdkResolver", "SdkTaskRunner", "outputs_of", "python_signals", "run_workflow_entity"]


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
        options = getattr(task, "options", None)
        self._keeps_decks = getattr(options, "enable_deck", True)

    def call(self, inputs: dict[str, Any]) -> dict[str, Any]:
        if ACTIVE or not self._keeps_decks:  # the common case pays one test for both
            stub = self._prepare()
            if stub is not None:
                return self._check(stub(inputs))
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
        if self.template.type == "eager":
            # run as a plain coroutine, its awaits would be local runs nobody records
            raise RuntimeError(f"{self._where} was run as a plain task; an eager body runs where the "
                               "tasks it awaits can reach its engine (the local-process target)")
        stub = self._prepare()
        if stub is not None:
            returned = stub(inputs)
            return self._check(await returned if inspect.isawaitable(returned) else returned)
        if self._kinds.adapts_inputs:
            inputs = self._kinds.inputs(inputs)
        return self._check(await self.task.fn(**inputs))

    def _prepare(self) -> TaskStub | None:
        """Drops the decks of a task with enable_deck=False; the stub that replaces it, if any."""
        if not self._keeps_decks:
            current_context().keep_decks = False
        return stub_for(self.task)

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

    async def run_eager(self, request: AttemptRequest, launch: EagerLauncher) -> AttemptOutcome:
        """An eager task's body, on this loop; the tasks it awaits go to ``launch``."""
        from wingspan._runner.eager import EagerCalls
        from wingspan.core.engine.failures import error_from_exception

        calls = EagerCalls(launch, SdkResolver(dict(self._resolver.entities)), self._where)
        token = calls.activate()
        try:
            outputs = self._check(await self.task.fn(**request.inputs))
        except Exception as exc:
            return AttemptOutcome(TaskPhase.FAILED, error=error_from_exception(exc, request.node_id),
                                  exception=exc)
        finally:
            calls.deactivate(token)
        return AttemptOutcome(TaskPhase.SUCCEEDED, outputs)

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

    def runner_for(self, entity: Any) -> SdkTaskRunner:
        """The runner of ``entity``, which this resolver learns of now (an eager body's call)."""
        self.entities.setdefault(entity.id, entity)
        return self.task(entity.id)

    def resolver_of(self, workflow: Any) -> SdkResolver:
        """A resolver of what ``workflow`` reaches (a workflow an eager body awaits)."""
        return SdkResolver(dict(workflow.entities))

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


def _check_stubs_run_here(stubbed: list[Any], executor: Any, resolver: SdkResolver) -> None:
    """Refuses a run that would send a patched task to another process, which runs its body."""
    if executor is None:
        return
    for task in stubbed:
        if not executor.runs_here(SdkTaskRunner(task, resolver)):
            raise UserError(f"{task.kind_label} {task.name!r} is patched (wingspan.testing.patch), but this "
                            "run sends it to another process, where the patch does not reach: run the test "
                            "in-process (leave out target= and unset WINGSPAN_TASK_TARGETS)")


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
    check_inputs(workflow, inputs)
    executor, cache = engine_parts(workflow.closure, target)
    resolver = SdkResolver(workflow.entities)
    stubbed = stubbed_among(workflow.entities.values())
    if stubbed:
        cache = None  # a stub's output must never be served to a real run
        _check_stubs_run_here(stubbed, executor, resolver)
    run = WorkflowRun(workflow.closure, inputs, resolver, sink=sink,
                      signals=signals, retry=retry, max_parallelism=max_parallelism,
                      execution_id=execution_id, private_loop=True, executor=executor, cache=cache)

    async def run_then_close() -> RunResult:
        try:
            return await run.run()
        finally:  # on the run's own loop, where the store's connections live
            closing = getattr(executor, "aclose", None)
            if closing is not None:
                await closing()

    return _run_sync(run_then_close)


#: what ``run(..., signals=...)`` takes: {signal name: value}, or a function of a signal's name
SignalAnswers = Mapping[str, Any] | Callable[[str], Any]


def python_signals(given: SignalAnswers, where: str) -> SignalSource:
    """The gates of a run answered from Python code: from a dict of values by signal name
    (approve gates take True or False), or by a handler called with each signal's name, in a
    worker thread, when its gate starts waiting. Values are checked against the gate's type."""
    if isinstance(given, Mapping):
        values = dict(given)

        def answer(name: str, expected: Any) -> Any:
            if name in values:
                return values[name]
            raise UserError(f"{where} waits for signal {name!r}, which signals= does not give "
                            f"(it gives {sorted(values) or 'none'}): add {name!r}: VALUE")

        return CallbackSignals(answer)
    if callable(given):
        handler = given
        return CallbackSignals(lambda name, expected: handler(name))
    raise TypeError(f"{where}: signals= takes a dict {{signal name: value}} or a function called with a "
                    f"signal's name, not {type(given).__name__}")


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
