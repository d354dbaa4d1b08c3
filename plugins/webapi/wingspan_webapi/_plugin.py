"""``WebApiPlugin``: runs the attempts of every connector's task type inside the engine's process
(no worker process): ``start`` submits the job and returns its resource as the handle, which the
engine stores with the attempt; ``poll`` asks the service about it, from whichever replica holds
the execution now; ``abort`` deletes it. A thousand jobs in flight are a thousand handles and
one event loop."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import anyio
import httpx

from wingspan.core.model.literals import LiteralMap
from wingspan.core.types.naturals import from_natural, to_natural
from wingspan.plugin import (
    ConfigError,
    ErrorKind,
    ExecutionError,
    Handle,
    ReadsLogs,
    TaskContext,
    TaskPhase,
    TaskPlugin,
    TaskStatus,
)
from wingspan_webapi._config import WebApiConfig
from wingspan_webapi._connector import Api, ApiError, Connector, Job, JobRequest, SyncConnector
from wingspan_webapi._limits import JobSlots, Throttle
from wingspan_webapi.connectors import builtin_connectors

__all__ = ["WebApiPlugin"]

AnyConnector = Connector | SyncConnector


class WebApiPlugin(TaskPlugin, ReadsLogs):
    name: ClassVar[str] = "webapi"
    task_types: ClassVar[tuple[str, ...]] = ("http", "bigquery", "snowflake", "databricks")

    def __init__(self, config: WebApiConfig, connectors: Sequence[AnyConnector] | None = None) -> None:
        if config.connections < 1:
            raise ConfigError(
                f"webapi: connections is {config.connections}; it is how many HTTP connections the plugin "
                "keeps open to the services, at least 1 (set [plugins.webapi] connections, or "
                "WINGSPAN_PLUGINS__WEBAPI__CONNECTIONS)"
            )
        self.config = config
        found = list(connectors) if connectors is not None else builtin_connectors(config)
        self.connectors = {c.task_type: c for c in found}
        self.slots = {t: JobSlots(int(config.concurrency.get(t, 0))) for t in self.connectors}
        self.throttles = {t: Throttle(float(config.rate.get(t, 0))) for t in self.connectors}
        self._http: httpx.AsyncClient | None = None
        # requests beyond the client's connections wait here, in order, each woken alone: in
        # httpx's pool every request would rescan all those queued (quadratic in the jobs in
        # flight), and connections beyond its keep-alive count would be closed after each use
        self._turns: anyio.Semaphore | None = None
        self._poll_errors: dict[str, int] = {}
        # attempts this process is working on: the client is closed when none is left, so it
        # never outlives the event loop it was opened on (a local run has a loop of its own)
        self._active: set[str] = set()

    def _connector(self, task_type: str) -> AnyConnector:
        connector = self.connectors.get(task_type)
        if connector is None:
            raise ConfigError(
                f"the webapi plugin has no connector for task type {task_type!r} "
                f"(it has {', '.join(sorted(self.connectors))})"
            )
        return connector

    def _api(self, task_type: str) -> tuple[AnyConnector, Api]:
        connector = self._connector(task_type)
        if self._http is None or self._turns is None:
            connections = self.config.connections
            limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
            self._http = httpx.AsyncClient(timeout=self.config.request_timeout, limits=limits)
            self._turns = anyio.Semaphore(connections)
        base_url, headers = connector.endpoint()
        return connector, Api(
            self._http, base_url, headers, self.throttles[task_type], connector.service or task_type,
            turns=self._turns,
        )

    def _request(self, ctx: TaskContext) -> JobRequest:
        custom = ctx.template.custom.literals if ctx.template.custom is not None else {}
        interface = ctx.template.interface
        return JobRequest(
            task_type=ctx.template.type,
            task_name=ctx.task_name,
            spec={key: to_natural(literal) for key, literal in custom.items()},
            inputs={name: to_natural(literal) for name, literal in ctx.inputs.literals.items()},
            outputs=tuple(interface.outputs) if interface is not None else (),
            execution_id=ctx.execution_id,
            node_id=ctx.node_id,
            attempt=ctx.attempt,
        )

    async def start(self, ctx: TaskContext) -> Handle:
        request = self._request(ctx)
        connector, api = self._api(request.task_type)
        key = request.idempotency_key
        handle: Handle = {"connector": request.task_type, "key": key}
        self._active.add(key)
        try:
            if isinstance(connector, SyncConnector):
                # the answer goes into the handle, which the engine stores: a replica taking over
                # reads it there instead of calling again
                job = await self._refusal_or(connector.call(api, request), request)
                await self._end(request.task_type, key)
                return {**handle, "job": _job_record(job)}
            await self.slots[request.task_type].take(key)
            handle["resource"] = await connector.create(api, request)
        except ApiError as exc:
            await self._end(request.task_type, key)
            if exc.retryable:
                raise
            return {**handle, "job": _job_record(_refused(exc, request))}
        except BaseException:
            with anyio.CancelScope(shield=True):
                await self._end(request.task_type, key)
            raise
        return handle

    async def _end(self, task_type: str, key: str) -> None:
        """The attempt needs nothing more of this process: its slot is given back, and the client
        closed when no other attempt is being worked on."""
        self.slots[task_type].give_back(key)
        self._poll_errors.pop(key, None)
        self._active.discard(key)
        if not self._active:
            await self.aclose()

    async def _refusal_or(self, call: Any, request: JobRequest) -> Job:
        try:
            job: Job = await call
        except ApiError as exc:
            if exc.retryable:
                raise
            return _refused(exc, request)
        return job

    async def poll(self, ctx: TaskContext, handle: Handle) -> TaskStatus:
        request = self._request(ctx)
        if "job" in handle:  # answered (or refused) in start: nothing to ask the service
            return self._status(ctx, request, _job_from(handle["job"]), self._connector(handle["connector"]))
        connector, api = self._api(handle["connector"])
        assert isinstance(connector, Connector)
        key, resource = handle["key"], handle["resource"]
        self._active.add(key)
        await self.slots[request.task_type].take(key)  # a resumed attempt holds its slot too
        try:
            job = await connector.get(api, request, resource)
        except ApiError as exc:
            errors = self._poll_errors[key] = self._poll_errors.get(key, 0) + 1
            if exc.retryable and errors < self.config.max_poll_errors:
                return TaskStatus(TaskPhase.RUNNING, logs=connector.links(resource), reason=str(exc))
            job = Job(
                TaskPhase.FAILED,
                code=f"API:{exc.code or 'unreachable'}",
                retryable=exc.retryable,
                user_error=False,
                message=f"{request.where}: looking at its job failed "
                f"{errors} time(s) in a row; the last: {exc}",
            )
        self._poll_errors.pop(key, None)
        status = self._status(ctx, request, job, connector, resource)
        if status.terminal:
            await self._end(request.task_type, key)
        return status

    def _status(
        self,
        ctx: TaskContext,
        request: JobRequest,
        job: Job,
        connector: AnyConnector,
        resource: dict[str, Any] | None = None,
    ) -> TaskStatus:
        links = connector.links(resource) if isinstance(connector, Connector) and resource else ()
        if job.phase == TaskPhase.SUCCEEDED:
            try:
                outputs = _outputs(request, job)
            except ValueError as exc:
                job = Job(TaskPhase.FAILED, code="OUTPUTS", message=str(exc))
            else:
                return TaskStatus(TaskPhase.SUCCEEDED, outputs=outputs, logs=links)
        if job.phase in (TaskPhase.FAILED, TaskPhase.ABORTED, TaskPhase.TIMED_OUT):
            return TaskStatus(
                TaskPhase.FAILED,
                logs=links,
                error=ExecutionError(
                    code=f"{request.task_type.upper()}:{job.code or job.phase.name}",
                    message=job.message,
                    kind=ErrorKind.USER if job.user_error else ErrorKind.SYSTEM,
                    retryable=job.retryable,
                    node_id=ctx.node_id,
                ),
            )
        return TaskStatus(TaskPhase.RUNNING, logs=links, reason=job.message)

    async def watch(self, ctx: TaskContext, handle: Handle) -> TaskStatus:
        delay = min(0.05, self.config.poll_interval)
        while True:
            status = await self.poll(ctx, handle)
            if status.terminal:
                return status
            await anyio.sleep(delay)
            delay = min(delay * 2, self.config.poll_interval)

    async def abort(self, ctx: TaskContext, handle: Handle) -> None:
        if "resource" not in handle:
            return
        connector, api = self._api(handle["connector"])
        if not isinstance(connector, Connector):
            return
        try:
            await connector.delete(api, self._request(ctx), handle["resource"])
        finally:
            await self._end(handle["connector"], handle["key"])

    async def read_logs(self, handle: Handle, offset: int = 0) -> bytes:
        if "resource" not in handle:
            return b""
        connector, api = self._api(handle["connector"])
        if not isinstance(connector, Connector):
            return b""
        return (await connector.logs(api, handle["resource"]))[offset:]

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None
            self._turns = None


def _refused(exc: ApiError, request: JobRequest) -> Job:
    return Job(TaskPhase.FAILED, code=exc.code or "REFUSED", message=f"{request.where}: {exc}")


def _job_record(job: Job) -> dict[str, Any]:
    return {
        "phase": job.phase.name,
        "outputs": dict(job.outputs),
        "code": job.code,
        "message": job.message,
        "retryable": job.retryable,
        "user_error": job.user_error,
    }


def _job_from(record: dict[str, Any]) -> Job:
    return Job(
        TaskPhase[record["phase"]],
        record["outputs"],
        record["code"],
        record["message"],
        record["retryable"],
        record["user_error"],
    )


def _outputs(request: JobRequest, job: Job) -> LiteralMap:
    literals = {}
    for variable in request.outputs:
        if variable.name not in job.outputs:
            raise ValueError(
                f"{request.where}: its job succeeded but gave no output {variable.name!r} "
                f"(it gave {', '.join(sorted(job.outputs)) or 'none'})"
            )
        assert variable.type is not None
        try:
            literals[variable.name] = from_natural(job.outputs[variable.name], variable.type, variable.name)
        except Exception as exc:
            raise ValueError(f"{request.where}: output {exc}") from exc
    return LiteralMap(literals)
