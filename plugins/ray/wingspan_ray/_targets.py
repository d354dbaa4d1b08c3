"""Where ``ray`` task bodies run: ``ray-local``, the platform's warm worker processes under the
plugin's name, each keeping its local Ray cluster warm; attempts asking for the same cluster
shape go to the same workers (``worker_key``), and hold the cluster's CPUs from the budget.
A task that names a running head (``Ray(address=...)``, or ``[plugins.ray] address``) runs as a
Ray job there instead (``_jobs``); the handle says which, so any replica follows either."""

from __future__ import annotations

from typing import ClassVar

from wingspan.plugin import Handle, LocalProcessTarget, TaskContext, TaskLog, TaskStatus, TaskTemplate
from wingspan_ray._config import RayConfig
from wingspan_ray._environment import task_config
from wingspan_ray._jobs import RayJobs
from wingspan_ray._task_config import TASK_TYPE

__all__ = ["RayLocal"]


class RayLocal(LocalProcessTarget):
    name: ClassVar[str] = "ray-local"
    task_types: ClassVar[tuple[str, ...]] = (TASK_TYPE,)

    def __init__(self, config: RayConfig | None = None) -> None:
        super().__init__()
        self.config = config or RayConfig()
        self.jobs = RayJobs()

    def worker_key(self, template: TaskTemplate) -> str:
        return task_config(template).shape()

    def cpus_of(self, template: TaskTemplate) -> float:
        return float(max(1, task_config(template).num_cpus))

    def _address(self, template: TaskTemplate) -> str:
        return task_config(template).address or self.config.address

    async def start(self, ctx: TaskContext) -> Handle:
        address = self._address(ctx.template)
        if address:
            return await self.jobs.start(ctx, task_config(ctx.template), address)
        return await super().start(ctx)

    async def watch(self, ctx: TaskContext, handle: Handle) -> TaskStatus:
        if "ray_job" in handle:
            return await self.jobs.watch(ctx, handle, self.poll_interval)
        return await super().watch(ctx, handle)

    async def poll(self, ctx: TaskContext, handle: Handle) -> TaskStatus:
        if "ray_job" in handle:
            return await self.jobs.poll(ctx, handle)
        return await super().poll(ctx, handle)

    def log_links(self, handle: Handle) -> tuple[TaskLog, ...]:
        # a job's handle has no local log file: its logs are the head's job page
        if "ray_job" in handle:
            return self.jobs.log_links(handle)
        return super().log_links(handle)

    async def abort(self, ctx: TaskContext, handle: Handle) -> None:
        if "ray_job" in handle:
            await self.jobs.abort(handle)
        else:
            await super().abort(ctx, handle)
