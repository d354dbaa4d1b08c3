"""Attempts on an existing Ray head, through its Jobs API: one Ray job per attempt.

When a ``ray`` task names a head (``Ray(address="http://host:8265")``, or ``[plugins.ray]
address``), the attempt is not run in a local worker: its inputs go to the blob store
(``inputs.pb`` under the attempt's prefix, as for a pod) and a Ray job runs ``wingspan execute``
as its entrypoint on the cluster. That driver imports the task (from its registered code bundle,
or, for a local run, from the caller's ``sys.path``), runs the body connected to the cluster
(``RayEnvironment`` joins the job's cluster instead of starting one) and writes ``outputs.pb``
or ``error.pb``; this side follows the job's status and reads them. A timeout or an abort
stops the job. The head must reach the same blob store (a shared folder, or S3/MinIO).
"""

from __future__ import annotations

import os
import shlex
import sys
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import anyio.to_thread

from wingspan.core.engine.attempt_files import AttemptFiles
from wingspan.core.engine.failures import error_from_exception, timed_out
from wingspan.core.model import codec
from wingspan.plugin import ExecutionError, Handle, LiteralMap, TaskContext, TaskLog, TaskPhase, TaskStatus
from wingspan_ray._errors import RayJobError
from wingspan_ray._task_config import Ray

if TYPE_CHECKING:
    from ray.job_submission import JobSubmissionClient

__all__ = ["RayJobs"]


class RayJobs:
    """Submits, follows and stops the Ray jobs of attempts on heads named by address."""

    def __init__(self) -> None:
        self._clients: dict[str, JobSubmissionClient] = {}

    def _client(self, address: str) -> JobSubmissionClient:
        client = self._clients.get(address)
        if client is None:
            from ray.job_submission import JobSubmissionClient

            client = self._clients[address] = JobSubmissionClient(address)
        return client

    async def start(self, ctx: TaskContext, ray_config: Ray, address: str) -> Handle:
        store = ctx.transfer.store
        if store is None:
            raise RayJobError(f"task {ctx.task_name}: an attempt on the Ray head {address} needs a blob "
                              "store both sides reach (set storage_root)")
        files = AttemptFiles(ctx.transfer.prefix)
        await store.put(files.inputs, codec.encode(ctx.inputs))
        code = ctx.template.code
        args = ["--module", code.module if code else "", "--qualname", code.qualname if code else "",
                "--inputs", files.inputs, "--output-prefix", ctx.transfer.prefix,
                "--execution-id", ctx.execution_id, "--node-id", ctx.node_id, "--attempt", str(ctx.attempt)]
        env_vars = dict(store.environment())
        if code is not None and code.bundle_uri:
            args += ["--bundle", code.bundle_uri]
        else:  # a local run's code: where this process imports it from (a head on this machine)
            env_vars["PYTHONPATH"] = os.pathsep.join([os.getcwd(), *sys.path])
        runtime_env: dict[str, Any] = dict(ray_config.runtime_env or {})
        runtime_env["env_vars"] = {**env_vars, **runtime_env.get("env_vars", {})}
        entrypoint = shlex.join([sys.executable, "-m", "wingspan.cli", "execute", *args])
        job_id = f"wingspan-{uuid.uuid4().hex[:16]}"

        def submit() -> str:
            submitted: str = self._client(address).submit_job(
                entrypoint=entrypoint, submission_id=job_id, runtime_env=runtime_env,
                entrypoint_num_cpus=0, metadata={"execution": ctx.execution_id, "node": ctx.node_id})
            return submitted

        try:
            await anyio.to_thread.run_sync(submit)
        except Exception as exc:
            raise RayJobError(f"task {ctx.task_name}: the Ray head {address} refused the job: {exc}") from exc
        return {"ray_job": job_id, "address": address, "prefix": ctx.transfer.prefix}

    async def watch(self, ctx: TaskContext, handle: Handle, poll_interval: float) -> TaskStatus:
        with anyio.move_on_after(ctx.timeout) as scope:
            delay = 0.05
            while True:
                status = await self.poll(ctx, handle)
                if status.terminal:
                    return status
                await anyio.sleep(delay)
                delay = min(delay * 2, poll_interval)
        assert scope.cancelled_caught
        await self.abort(handle)
        error = timed_out(ctx.timeout or 0, ctx.node_id)
        return TaskStatus(TaskPhase.TIMED_OUT, logs=_logs(handle), reason="timed out", error=error)

    async def poll(self, ctx: TaskContext, handle: Handle) -> TaskStatus:
        from ray.job_submission import JobStatus

        client = self._client(handle["address"])
        status = await anyio.to_thread.run_sync(client.get_job_status, handle["ray_job"])
        if status in (JobStatus.PENDING, JobStatus.RUNNING):
            return TaskStatus(TaskPhase.RUNNING, logs=_logs(handle))
        store = ctx.transfer.store
        assert store is not None
        files = AttemptFiles(handle["prefix"])
        if status == JobStatus.SUCCEEDED:
            return TaskStatus(TaskPhase.SUCCEEDED, codec.decode(LiteralMap, await store.get(files.outputs)),
                              _logs(handle))
        try:
            error = codec.decode(ExecutionError, await store.get(files.error))
        except Exception:  # the job ended before the body could say why (stopped, entrypoint lost)
            info = await anyio.to_thread.run_sync(client.get_job_info, handle["ray_job"])
            lost = RayJobError(f"the Ray job {handle['ray_job']} on {handle['address']} ended "
                               f"{status.value}: {info.message or 'no message'}")
            return TaskStatus(TaskPhase.FAILED, logs=_logs(handle), reason=str(status.value),
                              error=error_from_exception(lost, ctx.node_id), exception=lost)
        error = ExecutionError(code=error.code, message=error.message, kind=error.kind,
                               retryable=error.retryable, node_id=ctx.node_id, occurred_at=datetime.now(UTC))
        return TaskStatus(TaskPhase.FAILED, logs=_logs(handle), reason=error.code, error=error)

    def log_links(self, handle: Handle) -> tuple[TaskLog, ...]:
        return _logs(handle)

    async def abort(self, handle: Handle) -> None:
        client = self._client(handle["address"])
        await anyio.to_thread.run_sync(client.stop_job, handle["ray_job"])


def _logs(handle: Handle) -> tuple[TaskLog, ...]:
    return (TaskLog("ray job", f"{handle['address']}/#/jobs/{handle['ray_job']}"),)
