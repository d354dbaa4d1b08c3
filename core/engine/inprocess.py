"""Running task attempts in this process: inline, in a worker thread, or in a forked
child when the task has a timeout (only a process can really be stopped)."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import pickle
import signal
import weakref
from collections.abc import Callable
from typing import Any

import anyio
import anyio.to_thread

from wingspan.core.engine.attempt_io import attempt_store
from wingspan.core.engine.context import ExecutionContext, ExecutionName, reset_context, set_context
from wingspan.core.engine.failures import error_from_exception, killed_by_signal, timed_out
from wingspan.core.engine.interfaces import AttemptOutcome, AttemptRequest, TaskRunner
from wingspan.core.engine.reports import report_logs, save_report
from wingspan.core.engine.task_environments import entered, installed
from wingspan.core.model.execution import TaskPhase
from wingspan.core.model.literals import LiteralType

__all__ = ["InProcessExecutor", "holds_data", "moves_data"]


def _call(request: AttemptRequest) -> AttemptOutcome:
    context = ExecutionContext(ExecutionName(request.execution_id), request.node_id, request.attempt,
                               request.runner.template.id.name if request.runner.template.id else "")
    token = set_context(context)
    template = request.runner.template
    try:
        if installed(template.type):  # a plugin sets something up around this type's bodies
            with entered(template, context):
                outputs = request.runner.call(request.inputs)
        else:
            outputs = request.runner.call(request.inputs)
    except Exception as exc:
        return AttemptOutcome(TaskPhase.FAILED, error=error_from_exception(exc, request.node_id),
                              exception=exc, logs=report_logs(context) if context.report else ())
    finally:
        reset_context(token)
    if context.report:
        return AttemptOutcome(TaskPhase.SUCCEEDED, outputs, logs=report_logs(context))
    return AttemptOutcome(TaskPhase.SUCCEEDED, outputs)


def moves_data(runner: TaskRunner) -> bool:
    """Whether the task's inputs hold files, folders or frames. Such a task never runs
    inline on the event loop's thread: fetching them there would block the loop (and the
    blob store's client lives on it), so it runs in a worker thread that asks the loop."""
    known = _MOVING.get(id(runner))
    if known is not None and known[0]() is runner:
        return known[1]
    interface = runner.template.interface
    moving = interface is not None and any(holds_data(v.type) for v in interface.inputs)
    with contextlib.suppress(TypeError):  # a runner that takes no weak reference is asked again
        _MOVING[id(runner)] = (weakref.ref(runner, _forgetting(id(runner))), moving)
    return moving


def _forgetting(key: int) -> Callable[[Any], None]:
    def forget(_: Any) -> None:
        _MOVING.pop(key, None)

    return forget


# by id, with a weak reference to tell a reused id apart: a weak-keyed dictionary makes a
# new reference on every lookup, which cost a chain of tasks about 2% per node
_MOVING: dict[int, tuple[weakref.ref[TaskRunner], bool]] = {}


def holds_data(lt: LiteralType | None) -> bool:
    if lt is None:
        return False
    match lt.kind:
        case "blob" | "structured_dataset_type":
            return True
        case "collection_type" | "map_value_type":
            return holds_data(lt.value)
        case "union_type":
            return any(holds_data(v) for v in lt.value.variants)
        case "record_type":
            return any(holds_data(f.type) for f in lt.value.fields)
    return False


async def _report_async(context: ExecutionContext) -> tuple[tuple[str, str], ...]:
    if not context.report:
        return ()
    saved = await save_report(context, attempt_store(context.store))
    return (saved,) if saved is not None else ()


def _child(request: AttemptRequest, conn: Any) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    outcome = _call(request)
    try:
        payload = pickle.dumps(outcome)
    except Exception as exc:  # outputs or the exception do not pickle
        payload = pickle.dumps(AttemptOutcome(TaskPhase.FAILED,
                                              error=error_from_exception(exc, request.node_id)))
    conn.send_bytes(payload)
    conn.close()
    os._exit(0)


class InProcessExecutor:
    """Runs Python tasks in this process, the default for local runs."""

    def __init__(self, thread_limit: int = 64) -> None:
        self._threads = anyio.CapacityLimiter(thread_limit)

    def runs_here(self, runner: TaskRunner) -> bool:
        return True

    async def run(self, request: AttemptRequest) -> AttemptOutcome:
        if request.runner.is_async:
            return await self._run_async(request)
        if request.timeout is not None:
            return await self._run_forked(request, request.timeout)
        if request.inline and not moves_data(request.runner):
            return _call(request)
        # abandoned on abort: a thread cannot be stopped, but the run need not wait for it
        return await anyio.to_thread.run_sync(_call, request, limiter=self._threads,
                                              abandon_on_cancel=True)

    async def _run_async(self, request: AttemptRequest) -> AttemptOutcome:
        context = ExecutionContext(ExecutionName(request.execution_id), request.node_id, request.attempt)
        token = set_context(context)
        try:
            with (anyio.fail_after(request.timeout) if request.timeout else contextlib.nullcontext(),
                  entered(request.runner.template, context)):
                outputs = await request.runner.call_async(request.inputs)
        except TimeoutError:
            assert request.timeout is not None
            return AttemptOutcome(TaskPhase.TIMED_OUT, error=timed_out(request.timeout, request.node_id),
                                  logs=await _report_async(context))
        except Exception as exc:
            return AttemptOutcome(TaskPhase.FAILED, error=error_from_exception(exc, request.node_id),
                                  exception=exc, logs=await _report_async(context))
        finally:
            reset_context(token)
        return AttemptOutcome(TaskPhase.SUCCEEDED, outputs, logs=await _report_async(context))

    async def _run_forked(self, request: AttemptRequest, deadline: float) -> AttemptOutcome:
        ctx = multiprocessing.get_context("fork")
        receiver, sender = ctx.Pipe(duplex=False)
        process = ctx.Process(target=_child, args=(request, sender), daemon=True)
        process.start()
        sender.close()

        def wait() -> tuple[bytes | None, bool]:
            if not receiver.poll(deadline):
                return None, True
            try:
                return receiver.recv_bytes(), False
            except EOFError:  # the child died without answering
                return None, False

        try:
            payload, expired = await anyio.to_thread.run_sync(wait, abandon_on_cancel=True)
        except BaseException:
            process.kill()  # aborted: the attempt must not outlive its execution
            raise
        if expired:
            process.kill()
        await anyio.to_thread.run_sync(process.join)
        receiver.close()
        if expired:
            return AttemptOutcome(TaskPhase.TIMED_OUT, error=timed_out(deadline, request.node_id))
        if payload is None:
            code = process.exitcode or 0
            return AttemptOutcome(TaskPhase.FAILED, error=killed_by_signal(-code, request.node_id)
                                  if code < 0 else error_from_exception(
                                      RuntimeError(f"the task's process exited with code {code}"),
                                      request.node_id))
        outcome: AttemptOutcome = pickle.loads(payload)
        return outcome

