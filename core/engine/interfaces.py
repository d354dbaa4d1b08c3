"""What the engine needs from the world, as small interfaces.

Local runs plug in the SDK's entities and in-process execution; the server plugs
in its database, its catalog and task plugins. The engine itself does no I/O.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from wingspan.core.model.execution import ExecutionError, TaskPhase
from wingspan.core.model.interface import Identifier
from wingspan.core.model.literals import LiteralType
from wingspan.core.model.tasks import TaskTemplate
from wingspan.core.model.workflows import CompiledWorkflow, CompiledWorkflowClosure, DynamicJobSpec

__all__ = [
    "AttemptOutcome",
    "AttemptRequest",
    "ChunkingExecutor",
    "EagerLauncher",
    "EagerRunner",
    "EntityResolver",
    "LaunchPlanTarget",
    "RemoteDynamicRunner",
    "ResumingExecutor",
    "SignalSource",
    "TaskExecutor",
    "TaskRunner",
    "TemplateLauncher",
    "WorkflowTarget",
]


class TaskRunner(Protocol):
    """One task as the engine runs it in this process."""

    template: TaskTemplate
    input_types: Mapping[str, Any]
    output_types: Mapping[str, Any]
    is_async: bool

    def call(self, inputs: dict[str, Any]) -> dict[str, Any]:
        """Runs the task body; returns outputs by name."""

    async def call_async(self, inputs: dict[str, Any]) -> dict[str, Any]:
        """The same, for ``async def`` tasks."""

    def build_dynamic(self, inputs: dict[str, Any]) -> tuple[DynamicJobSpec, EntityResolver]:
        """For dynamic tasks: the graph the body made, and how to resolve what it uses."""


@runtime_checkable
class RemoteDynamicRunner(Protocol):
    """A dynamic task whose body runs where its code is (a worker process, a pod), not in the
    engine's process: the server's registered tasks. The engine asks it for the graph instead
    of calling ``build_dynamic``."""

    async def build_dynamic_remotely(self, inputs: dict[str, Any], execution_id: str, node_id: str,
                                     recorded: DynamicJobSpec | None,
                                     attempt: int = 0) -> tuple[DynamicJobSpec, EntityResolver]:
        """The graph the body makes for ``inputs`` (``recorded``: the one an earlier run of this
        node made, used as it is)."""


@dataclass(frozen=True)
class WorkflowTarget:
    """A workflow an eager body awaits: its closure, what resolves the tasks and subworkflows
    inside it, and its inputs' and outputs' types (for a body that sends it elsewhere)."""

    closure: CompiledWorkflowClosure
    resolver: EntityResolver
    input_types: Mapping[str, Any] = field(default_factory=dict)
    output_types: Mapping[str, Any] = field(default_factory=dict)

    @property
    def workflow(self) -> CompiledWorkflow:
        assert self.closure.primary is not None
        return self.closure.primary


#: launches one task (or workflow) as a child node of an eager node: (it, label, inputs) -> outputs
EagerLauncher = Callable[["TaskRunner | WorkflowTarget", str, dict[str, Any]], Awaitable[dict[str, Any]]]
#: the same for an eager body running elsewhere (a worker): it sends the task's template, or
#: the workflow's closure
TemplateLauncher = Callable[[TaskTemplate | CompiledWorkflowClosure, str, dict[str, Any]],
                            Awaitable[dict[str, Any]]]


@runtime_checkable
class EagerRunner(Protocol):
    """An eager task (``async`` body awaiting tasks) that this engine can run: each task its
    body awaits goes through ``launch`` as a child node, wherever the body runs."""

    async def run_eager(self, request: AttemptRequest, launch: EagerLauncher) -> AttemptOutcome:
        """Runs the body (one attempt) and says how it ended."""


@dataclass
class LaunchPlanTarget:
    """A launch plan called as a node: its workflow's closure and the inputs it adds."""

    closure: CompiledWorkflowClosure
    defaults: dict[str, Any] = field(default_factory=dict)
    fixed: dict[str, Any] = field(default_factory=dict)
    resolver: EntityResolver | None = None
    name: str = ""


class EntityResolver(Protocol):
    """Finds what a node refers to."""

    def task(self, task_id: Identifier) -> TaskRunner: ...

    def workflow(self, workflow_id: Identifier) -> CompiledWorkflow: ...

    def launch_plan(self, launch_plan_id: Identifier) -> LaunchPlanTarget: ...


@dataclass
class AttemptRequest:
    """One attempt of one task."""

    runner: TaskRunner
    inputs: dict[str, Any]
    execution_id: str
    node_id: str
    attempt: int
    timeout: float | None = None
    # run on the caller's thread: nothing else is running, so a thread handoff buys nothing
    inline: bool = False
    # an eager body's attempt: how the tasks it awaits become child nodes
    eager_calls: TemplateLauncher | None = None
    # told where the attempt's logs are once it has started, before it ends (log links of a
    # RUNNING task event), as (name, uri or path) pairs
    started: Callable[[tuple[tuple[str, str], ...]], None] | None = None
    # a resumed attempt: when it started (seconds since the epoch), which its timeout counts from
    started_at: float | None = None
    # an attempt of a map node's item (its events are marked ``Event.item``)
    map_item: bool = False


@dataclass
class AttemptOutcome:
    phase: TaskPhase
    outputs: dict[str, Any] = field(default_factory=dict)
    error: ExecutionError | None = None
    # the exception raised by task code, when it ran in this process (re-raised by local callers)
    exception: BaseException | None = None
    # where the attempt's logs are, as (name, uri or path) pairs
    logs: tuple[tuple[str, str], ...] = ()
    # a dynamic task's attempt run elsewhere: the graph its body made
    dynamic: DynamicJobSpec | None = None


class TaskExecutor(Protocol):
    """Runs task attempts: in this process, or through the task plugin chosen for the type."""

    async def run(self, request: AttemptRequest) -> AttemptOutcome: ...

    def runs_here(self, runner: TaskRunner) -> bool:
        """Whether attempts of this task run in this process (so the engine may call it
        directly, as maps do with their items)."""


@runtime_checkable
class ResumingExecutor(TaskExecutor, Protocol):
    """An executor that can also follow an attempt an earlier engine started, from the plugin
    name and handle that engine recorded (the plugin executor can; the in-process one cannot:
    its attempts die with the process). A resumed execution fails such attempts otherwise."""

    async def resume(self, request: AttemptRequest, plugin_name: str,
                     handle: dict[str, Any]) -> AttemptOutcome:
        """The attempt's outcome, followed through ``handle`` until it ends."""


@runtime_checkable
class ChunkingExecutor(TaskExecutor, Protocol):
    """An executor whose target for a task can run many of its attempts in one round trip (a
    map's items; see ``RunsChunks`` in the plugin contract)."""

    def runs_chunks(self, runner: TaskRunner) -> bool:
        """Whether attempts of this task can go in chunks (its target runs chunks)."""

    async def run_chunk(self, requests: Sequence[AttemptRequest]) -> list[AttemptOutcome | None]:
        """The attempts' outcomes, in order; None for each the chunk did not reach."""


class SignalSource(Protocol):
    """Delivers the values that approve and wait_for_input gates wait for."""

    async def wait(self, name: str, expected: LiteralType | None, node_id: str) -> Any: ...
