"""The engine's task executor over task plugins: each attempt goes to the plugin the
registry chooses for its task type (start, then watch; abort when cancelled, tried again
when the plugin fails to). Python tasks on the in-process target take the direct path (no
literals, no handle), so a run through plugins costs per node what a run without them does."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import anyio

from wingspan.core import tracing
from wingspan.core.engine.attempt_files import attempt_prefix
from wingspan.core.engine.failures import error_from_exception, interrupted, timed_out
from wingspan.core.engine.inprocess import InProcessExecutor
from wingspan.core.engine.interfaces import AttemptOutcome, AttemptRequest, ResumingExecutor, TaskRunner
from wingspan.core.model.execution import ExecutionError, TaskPhase
from wingspan.core.model.literals import ErrorKind, LiteralMap
from wingspan.core.model.tasks import TaskTemplate
from wingspan.core.plugins.aborts import abort_attempt
from wingspan.core.plugins.contract import Handle, RunsChunks, TaskContext, TaskPlugin, TaskStatus
from wingspan.core.plugins.inprocess_target import InProcessTarget
from wingspan.core.plugins.registry import TaskPluginRegistry
from wingspan.core.types import TransferContext, default_engine

if TYPE_CHECKING:
    from wingspan.core.model.settings import ExecutionSettings
    from wingspan.core.storage.interface import BlobStore

__all__ = ["AttemptHooks", "PluginExecutor", "execution_work_dir"]

class AttemptHooks(Protocol):
    """What a persistent engine does around an attempt's start: record that it starts (before:
    a crash then leaves a trace), and record its handle (after: so it can be followed again).
    A chunk of attempts (``run_chunk``) has no handle: ``before_start`` once, with its first."""

    async def before_start(self, request: AttemptRequest) -> None: ...

    async def started(self, request: AttemptRequest, plugin: str, handle: Handle) -> None: ...

    def starting(self) -> contextlib.AbstractContextManager[object]:
        """Held from ``before_start``'s return until the handle is recorded (or the start failed):
        an engine that stops waits for it, or the handle would come after it stopped recording."""
        ...

# how long past its timeout an attempt may take before the engine stops it itself
_GRACE = 5.0


class PluginExecutor(ResumingExecutor):
    """Runs attempts through the task plugins of ``registry``.

    ``store`` opens the blob store that files and frames cross through (on first use; with
    ``owns_store`` the store is this executor's, closed by :meth:`aclose`); ``work_dir`` is where
    attempts' logs go (``<work_dir>/<execution id>/...``). A task type no plugin serves runs
    in-process, as it would without plugins.
    """

    def __init__(self, registry: TaskPluginRegistry, *, store: Callable[[], BlobStore] | None = None,
                 work_dir: Path | None = None, offload_threshold: int | None = None,
                 hooks: AttemptHooks | None = None, owns_store: bool = False,
                 settings: ExecutionSettings | None = None) -> None:
        self.registry = registry
        # handed to every attempt's plugin (the execution's labels, service account...)
        self.settings = settings
        self._owns_store = owns_store
        self.hooks = hooks
        # set when the engine stops without ending its executions: a cancelled attempt is left
        # running (to be followed again through its handle), not aborted
        self.detached = False
        self._inprocess = InProcessExecutor()
        self._store_factory = store
        self._store: BlobStore | None = None
        self._work_dir = work_dir
        self._offload = offload_threshold
        self._plugins: dict[str, TaskPlugin | None] = {}

    async def aclose(self) -> None:
        """Closes the blob store this executor opened, if it owns it (a store given ready-made,
        such as the server's, belongs to its giver)."""
        store, self._store = self._store, None
        if store is not None and self._owns_store:
            await store.aclose()

    def plugin_for(self, task_type: str) -> TaskPlugin | None:
        """The plugin for a task type; None means this process (in-process target, or no plugin)."""
        try:
            return self._plugins[task_type]
        except KeyError:
            chosen = self.registry.choose(task_type)
            plugin = None if chosen is None or isinstance(chosen, InProcessTarget) else chosen
            self._plugins[task_type] = plugin
            return plugin

    def plugin_for_template(self, template: TaskTemplate) -> TaskPlugin | None:
        """The plugin for one task: the target the task names, else the one configured for its
        project (``python@project=...``), else for its type."""
        meta = template.metadata
        if meta is not None and meta.target:
            chosen: TaskPlugin | None = self.registry.named(template.type, meta.target,
                                                             f"task {template.id}: target")
        else:
            project = template.id.project if template.id is not None else ""
            if not project:
                return self.plugin_for(template.type)
            key = f"{template.type}@{project}"
            try:
                return self._plugins[key]
            except KeyError:
                chosen = self.registry.choose(template.type, project)
                self._plugins[key] = None if isinstance(chosen, InProcessTarget) else chosen
                return self._plugins[key]
        return None if isinstance(chosen, InProcessTarget) else chosen

    def runs_here(self, runner: TaskRunner) -> bool:
        return self.plugin_for_template(runner.template) is None

    async def run(self, request: AttemptRequest) -> AttemptOutcome:
        plugin = self.plugin_for_template(request.runner.template)
        if plugin is None:
            return await self._inprocess.run(request)
        return await self._run_plugin(plugin, request)

    def _transfer(self, request: AttemptRequest) -> TransferContext:
        if self._store is None and self._store_factory is not None:
            self._store = self._store_factory()
        if self._store is None:
            return TransferContext()
        prefix = attempt_prefix(self._store.root, request.execution_id, request.node_id, request.attempt)
        ctx = TransferContext(self._store, prefix)
        if self._offload is not None:
            ctx.offload_threshold = self._offload
        return ctx

    async def _context(self, request: AttemptRequest) -> TaskContext:
        runner = request.runner
        transfer = self._transfer(request)
        literals = await default_engine().to_literal_map(request.inputs, runner.input_types, transfer)
        work_dir = execution_work_dir(self._work_dir, request.execution_id) if self._work_dir else None
        return TaskContext(runner.template, literals, request.execution_id, request.node_id, request.attempt,
                           request.timeout, transfer, work_dir, runner, request.inputs, request.eager_calls,
                           settings=self.settings, traceparent=tracing.traceparent() or "")

    def runs_chunks(self, runner: TaskRunner) -> bool:
        """Python tasks whose target runs chunks (a pod per attempt cannot; the in-process
        target's items are called directly by the engine, cheaper still)."""
        return runner.template.type == "python" and isinstance(self.plugin_for_template(runner.template),
                                                                RunsChunks)

    async def run_chunk(self, requests: Sequence[AttemptRequest]) -> list[AttemptOutcome | None]:
        """Attempts of one task in one round trip to its target (see ``RunsChunks``); None for
        each the target did not reach."""
        plugin = self.plugin_for_template(requests[0].runner.template)
        assert isinstance(plugin, RunsChunks) and isinstance(plugin, TaskPlugin)
        outcomes: list[AttemptOutcome | None] = [None] * len(requests)
        contexts: list[TaskContext] = []
        for index, request in enumerate(requests):
            try:  # an item whose inputs cannot cross fails alone
                contexts.append(await self._context(request))
            except Exception as exc:
                error = error_from_exception(exc, request.node_id)
                outcomes[index] = AttemptOutcome(TaskPhase.FAILED, error=error, exception=exc)
        sent = [index for index, outcome in enumerate(outcomes) if outcome is None]
        if self.hooks is not None and contexts:  # the attempts' starts are stored first
            await self.hooks.before_start(requests[sent[0]])
        with tracing.span(f"plugin {plugin.name} chunk", {"wingspan.plugin": plugin.name,
                                                         "wingspan.chunk_size": len(contexts)}):
            try:
                statuses = await plugin.run_chunk(contexts) if contexts else []
            except Exception as exc:
                # which attempts ran is unknown: each failed, as one would whose plugin failed
                # (retried if it may be), never run again silently under the same number
                for index in sent:
                    node_id = requests[index].node_id
                    outcomes[index] = AttemptOutcome(TaskPhase.FAILED,
                                                     error=_plugin_error(plugin, "run_chunk", exc, node_id))
                return outcomes
        for index, ctx, status in zip(sent, contexts, statuses, strict=True):
            if status is not None:
                outcomes[index] = await _outcome(status, requests[index].runner, ctx.transfer, ctx.node_id)
        return outcomes

    async def _run_plugin(self, plugin: TaskPlugin, request: AttemptRequest) -> AttemptOutcome:
        with tracing.span(f"plugin {plugin.name}", {"wingspan.plugin": plugin.name}):
            return await self._start_and_follow(plugin, request)

    async def _start_and_follow(self, plugin: TaskPlugin, request: AttemptRequest) -> AttemptOutcome:
        node_id = request.node_id
        try:
            ctx = await self._context(request)
        except Exception as exc:
            return AttemptOutcome(TaskPhase.FAILED, error=error_from_exception(exc, node_id), exception=exc)
        if self.hooks is not None:
            await self.hooks.before_start(request)
        with self.hooks.starting() if self.hooks is not None else contextlib.nullcontext():
            try:
                handle = await plugin.start(ctx)
            except Exception as exc:
                return AttemptOutcome(TaskPhase.FAILED, error=_plugin_error(plugin, "start", exc, node_id))
            if self.hooks is not None:
                try:
                    await self.hooks.started(request, plugin.name, handle)
                except BaseException:
                    with anyio.CancelScope(shield=True):
                        await abort_attempt(plugin, ctx, handle)
                    raise
        _announce(plugin, request, handle)
        return await self._follow(plugin, request, ctx, handle)

    async def resume(self, request: AttemptRequest, plugin_name: str, handle: Handle) -> AttemptOutcome:
        """Follows an attempt started earlier (by another process) through its handle."""
        node_id = request.node_id
        plugin = next((p for p in self.registry.plugins if p.name == plugin_name), None)
        if plugin is None:
            return AttemptOutcome(TaskPhase.FAILED, error=interrupted(
                node_id, request.attempt, f"it ran on task plugin {plugin_name!r}, which this engine "
                                          "does not have: it cannot be followed"))
        attributes: tracing.Attributes = {"wingspan.plugin": plugin.name, "wingspan.resumed": True}
        with tracing.span(f"plugin {plugin.name}", attributes):
            try:
                ctx = await self._context(request)
            except Exception as exc:
                error = error_from_exception(exc, node_id)
                return AttemptOutcome(TaskPhase.FAILED, error=error, exception=exc)
            _announce(plugin, request, handle)
            return await self._follow(plugin, request, ctx, handle)

    async def _follow(self, plugin: TaskPlugin, request: AttemptRequest, ctx: TaskContext,
                      handle: Handle) -> AttemptOutcome:
        runner, node_id, transfer = request.runner, request.node_id, ctx.transfer
        status: TaskStatus | None = None
        try:
            with anyio.move_on_after(_time_left(request)):
                status = await plugin.watch(ctx, handle)
        except Exception as exc:
            with anyio.CancelScope(shield=True):
                await abort_attempt(plugin, ctx, handle)
            return AttemptOutcome(TaskPhase.FAILED, error=_plugin_error(plugin, "watch", exc, node_id))
        except BaseException:  # cancelled: the execution is aborting (or the engine stopping)
            if not self.detached:
                with anyio.CancelScope(shield=True):
                    await abort_attempt(plugin, ctx, handle)
            raise
        if status is None:
            with anyio.CancelScope(shield=True):
                await abort_attempt(plugin, ctx, handle)
            assert request.timeout is not None
            return AttemptOutcome(TaskPhase.TIMED_OUT, error=timed_out(request.timeout, node_id))
        return await _outcome(status, runner, transfer, node_id)


def _time_left(request: AttemptRequest) -> float | None:
    """How long the attempt may still run: its timeout (with a grace for the plugin to stop
    it itself) from when it started, which for a resumed attempt was before the resume."""
    if not request.timeout:
        return None
    left = request.timeout + _GRACE
    if request.started_at is not None:
        left -= max(0.0, time.time() - request.started_at)
    return max(left, 0.0)


def _announce(plugin: TaskPlugin, request: AttemptRequest, handle: Handle) -> None:
    """Tells the engine where a started attempt's logs are, so its RUNNING event shows them."""
    if request.started is None:
        return
    links = tuple((log.name, log.uri) for log in plugin.log_links(handle))
    if links:
        request.started(links)


async def _outcome(status: TaskStatus, runner: TaskRunner, transfer: TransferContext,
                   node_id: str) -> AttemptOutcome:
    logs = tuple((log.name, log.uri) for log in status.logs)
    if status.phase == TaskPhase.SUCCEEDED:
        try:
            outputs: dict[str, Any] = await default_engine().to_python_map(
                status.outputs or LiteralMap({}), runner.output_types, transfer)
        except Exception as exc:
            return AttemptOutcome(TaskPhase.FAILED, error=error_from_exception(exc, node_id), exception=exc,
                                  logs=logs)
        dynamic = None
        if status.dynamic_spec:
            from wingspan.core.model import codec
            from wingspan.core.model.workflows import DynamicJobSpec

            dynamic = codec.decode(DynamicJobSpec, status.dynamic_spec)
        return AttemptOutcome(TaskPhase.SUCCEEDED, outputs, logs=logs, dynamic=dynamic)
    error = status.error or ExecutionError(code=status.phase.name, kind=ErrorKind.SYSTEM, retryable=True,
                                           node_id=node_id, message=status.reason or status.phase.name)
    phase = status.phase if status.phase in (TaskPhase.TIMED_OUT, TaskPhase.ABORTED) else TaskPhase.FAILED
    return AttemptOutcome(phase, error=error, exception=status.exception, logs=logs)


def _plugin_error(plugin: TaskPlugin, step: str, exc: BaseException, node_id: str) -> ExecutionError:
    error = error_from_exception(exc, node_id)
    return ExecutionError(code=f"SYSTEM:{type(exc).__name__}", kind=ErrorKind.SYSTEM, retryable=True,
                          node_id=node_id, occurred_at=error.occurred_at,
                          message=f"task plugin {plugin.name!r} failed in {step}: {error.message}")


def execution_work_dir(work_dir: Path, execution_id: str) -> Path:
    """The folder below ``work_dir`` that the attempts of an execution write their logs in."""
    return work_dir / _safe(execution_id)


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in text)
