"""``Remote``: register code with a Wingspan server, run it there, follow and steer executions.

``Remote(endpoint)`` has plain synchronous methods, run on a private event loop in a daemon
thread (so a script that never closes its Remote still exits); ``Remote(...).aio`` has the
same ones as coroutines.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
import weakref
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from typing import Any, TypeAlias

from wingspan._remote.client import (
    DEFAULT_DOMAIN,
    DEFAULT_PROJECT,
    AsyncRemote,
    Execution,
    ExecutionRef,
    LogChunk,
    Registered,
)
from wingspan._remote.tokens import TokenProvider
from wingspan.core.model.execution import WorkflowPhase
from wingspan.core.model.interface import ExecutionId

__all__ = ["Remote", "SyncExecution", "SyncRef"]

#: an execution: its id, an Execution (either kind), or its name in the client's project and domain
SyncRef: TypeAlias = "ExecutionRef | SyncExecution"


class _LoopThread:
    """An event loop running on a daemon thread, and calls into it from other threads."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="wingspan-remote", daemon=True)
        self.thread.start()

    def call(self, func: Any, *args: Any, **kwargs: Any) -> Any:
        # in the caller's context: what it keeps in context variables (its current trace span,
        # sent along as traceparent) holds for the call on this thread too
        context = contextvars.copy_context()

        async def run() -> Any:
            return await asyncio.get_running_loop().create_task(func(*args, **kwargs), context=context)

        future = asyncio.run_coroutine_threadsafe(run(), self.loop)
        try:
            return future.result()
        except BaseException:
            future.cancel()  # interrupted (Ctrl-C): the call stops too
            raise

    def stop(self, aio: AsyncRemote) -> None:
        if self.loop.is_closed():
            return
        try:
            self.call(aio.aclose)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(5)
            if not self.thread.is_alive():
                self.loop.close()


class Remote:
    """Synchronous client: the same methods as ``.aio``, run on a private event loop thread."""

    def __init__(self, endpoint: str | None = None, *, project: str = DEFAULT_PROJECT,
                 domain: str = DEFAULT_DOMAIN, ca: str | None = None,
                 tokens: TokenProvider | None = None) -> None:
        self.aio = AsyncRemote(endpoint, project=project, domain=domain, ca=ca, tokens=tokens)
        self._loop: _LoopThread | None = None
        self._closer: weakref.finalize[Any, Remote] | None = None

    def _run(self, func: Any, *args: Any, **kwargs: Any) -> Any:
        if self._loop is None:
            self._loop = _LoopThread()
            # closed when this Remote is collected or the interpreter exits, if not before
            self._closer = weakref.finalize(self, self._loop.stop, self.aio)
        return self._loop.call(func, *args, **kwargs)

    def close(self) -> None:
        if self._closer is not None:
            self._closer()  # runs the stop once
            self._loop = self._closer = None

    def __enter__(self) -> Remote:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def register(self, target: Any, **kwargs: Any) -> Registered:
        result: Registered = self._run(self.aio.register, target, **kwargs)
        return result

    def execute(self, entity: Any, inputs: dict[str, Any] | None = None, **kwargs: Any) -> SyncExecution:
        return SyncExecution(self, self._run(self.aio.execute, entity, inputs, **kwargs))

    def _iterate(self, stream: AsyncIterator[Any]) -> Iterator[Any]:
        """An async stream of the portal's loop, item by item (closed when left early)."""
        try:
            while True:
                try:
                    yield self._run(stream.__anext__)
                except StopAsyncIteration:
                    return
        finally:
            aclose = getattr(stream, "aclose", None)
            if aclose is not None and self._loop is not None:
                self._run(aclose)

    def execution(self, execution_id: SyncRef) -> SyncExecution:
        return SyncExecution(self, self._run(self.aio.execution, self._unwrap(execution_id)))

    def terminate(self, execution_id: SyncRef, reason: str = "", *, force: bool = False) -> None:
        self._run(self.aio.terminate, self._unwrap(execution_id), reason, force=force)

    def relaunch(self, execution_id: SyncRef, *, name: str = "") -> SyncExecution:
        return SyncExecution(self, self._run(self.aio.relaunch, self._unwrap(execution_id), name=name))

    def recover(self, execution_id: SyncRef, *, name: str = "") -> SyncExecution:
        return SyncExecution(self, self._run(self.aio.recover, self._unwrap(execution_id), name=name))

    def logs(self, execution_id: SyncRef, node_id: str | None = None, attempt: int | None = None,
             follow: bool = False) -> Iterator[LogChunk]:
        """What task attempts wrote, chunk by chunk (see ``Remote.aio.logs``)."""
        return self._iterate(self.aio.logs(self._unwrap(execution_id), node_id, attempt, follow))

    def nodes(self, execution_id: SyncRef) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._run(self.aio.nodes, self._unwrap(execution_id))
        return result

    def reports(self, execution_id: SyncRef, node_id: str | None = None,
                attempt: int | None = None) -> list[dict[str, Any]]:
        """The reports the execution's task nodes made (see ``Remote.aio.reports``)."""
        found: list[dict[str, Any]] = self._run(self.aio.reports, self._unwrap(execution_id), node_id,
                                                 attempt)
        return found

    def watch(self, execution_id: SyncRef, after_sequence: int = 0) -> Iterator[Any]:
        return self._iterate(self.aio.watch(self._unwrap(execution_id), after_sequence))

    def grant_role(self, subject: str, role: str, project: str = "*", domain: str = "*") -> None:
        self._run(self.aio.grant_role, subject, role, project, domain)

    def revoke_role(self, subject: str, role: str, project: str = "*", domain: str = "*") -> None:
        self._run(self.aio.revoke_role, subject, role, project, domain)

    def role_bindings(self, *, project: str = "", subject: str = "") -> list[dict[str, str]]:
        result: list[dict[str, str]] = self._run(self.aio.role_bindings, project=project, subject=subject)
        return result

    def audit_events(self, *, principal: str = "", method: str = "", project: str = "",
                     since: datetime | None = None, limit: int = 100) -> list[dict[str, str]]:
        result: list[dict[str, str]] = self._run(self.aio.audit_events, principal=principal, method=method,
                                                 project=project, since=since, limit=limit)
        return result

    def signals(self, execution_id: SyncRef) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._run(self.aio.signals, self._unwrap(execution_id))
        return result

    def set_signal(self, execution_id: SyncRef, name: str, value: Any) -> None:
        self._run(self.aio.set_signal, self._unwrap(execution_id), name, value)

    @staticmethod
    def _unwrap(ref: Any) -> Any:
        return ref._execution if isinstance(ref, SyncExecution) else ref

    def list_projects(self, **kwargs: Any) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._run(self.aio.list_projects, **kwargs)
        return result

    def create_project(self, project_id: str, **kwargs: Any) -> dict[str, Any]:
        result: dict[str, Any] = self._run(self.aio.create_project, project_id, **kwargs)
        return result

    def update_project(self, project_id: str, **kwargs: Any) -> dict[str, Any]:
        result: dict[str, Any] = self._run(self.aio.update_project, project_id, **kwargs)
        return result

    def project_settings(self, project: str, domain: str = "") -> dict[str, str]:
        result: dict[str, str] = self._run(self.aio.project_settings, project, domain)
        return result

    def update_project_settings(self, project: str, domain: str = "", **changes: object) -> dict[str, str]:
        result: dict[str, str] = self._run(self.aio.update_project_settings, project, domain, **changes)
        return result

    def list_domains(self) -> list[dict[str, str]]:
        result: list[dict[str, str]] = self._run(self.aio.list_domains)
        return result

    def activate_launch_plan(self, name: str, version: str | None = None, **kwargs: Any) -> dict[str, Any]:
        result: dict[str, Any] = self._run(self.aio.activate_launch_plan, name, version, **kwargs)
        return result

    def deactivate_launch_plan(self, name: str, version: str | None = None, **kwargs: Any) -> dict[str, Any]:
        result: dict[str, Any] = self._run(self.aio.deactivate_launch_plan, name, version, **kwargs)
        return result

    def archive_execution(self, execution_id: SyncRef, *, archived: bool = True) -> SyncExecution:
        return SyncExecution(self, self._run(self.aio.archive_execution, self._unwrap(execution_id),
                                             archived=archived))

    def delete_execution(self, execution_id: SyncRef) -> None:
        self._run(self.aio.delete_execution, self._unwrap(execution_id))

    def list_entities(self, kind: str, name: str = "", **kwargs: Any) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._run(self.aio.list_entities, kind, name, **kwargs)
        return result

    def list_executions(self, **kwargs: Any) -> list[SyncExecution]:
        return [SyncExecution(self, e) for e in self._run(self.aio.list_executions, **kwargs)]


class SyncExecution:
    """An Execution for synchronous code."""

    def __init__(self, remote: Remote, execution: Execution) -> None:
        self._remote = remote
        self._execution = execution

    @property
    def aio(self) -> Execution:
        """The same execution for asynchronous code (and its other fields)."""
        return self._execution

    @property
    def id(self) -> ExecutionId:
        return self._execution.id

    @property
    def phase(self) -> WorkflowPhase:
        return self._execution.phase

    @property
    def error(self) -> str:
        return self._execution.error

    @property
    def name(self) -> str:
        return self._execution.name

    @property
    def done(self) -> bool:
        return self._execution.done

    def refresh(self) -> SyncExecution:
        self._remote._run(self._execution.refresh)
        return self

    def wait(self, timeout: float | None = None) -> SyncExecution:
        """Until it ends; TimeoutError after ``timeout`` seconds, naming it and its phase."""
        self._remote._run(self._execution.wait, timeout)
        return self

    @property
    def outputs(self) -> dict[str, Any]:
        """The outputs as Python values (FailedPreconditionError, with the error, unless it succeeded)."""
        result: dict[str, Any] = self._remote._run(self._execution.outputs)
        return result

    def __repr__(self) -> str:
        return f"Execution({self.id.name}, {self.phase.name})"
