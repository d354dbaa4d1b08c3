"""``K8sPlugin``: each task attempt as a Kubernetes pod.

start: the inputs (and, for container tasks, the template) go to the blob store under
the attempt's prefix, the namespace is made if needed, the pod is created. watch: the
namespace's shared watcher says when the pod changes; the attempt ends when the pod
does, or fails when it is pending too long, cannot pull its image or is evicted, or is
stopped at its timeout. The outputs are read from ``outputs.pb`` under the prefix, a
task's own error from ``error.pb``. abort deletes the pod. The handle names the pod, so
another engine replica can go on watching it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, ClassVar, TypeVar

from wingspan.plugin import (
    TERMINAL,
    ConfigError,
    Handle,
    LiteralMap,
    ReadsLogs,
    TaskContext,
    TaskLog,
    TaskPhase,
    TaskPlugin,
    TaskStatus,
)
from wingspan_k8s._cluster import Cluster, ClusterThread, K8sError
from wingspan_k8s._config import K8sConfig
from wingspan_k8s._outcomes import attempt_status
from wingspan_k8s._pods import TASK_CONTAINER, Attempt, build_pod, namespace_name, pod_name
from wingspan_k8s._status import PodState, classify, finished_at, pull_error

__all__ = ["K8sPlugin"]

T = TypeVar("T")

# a watcher that has failed this long fails the attempts waiting on it
_WATCH_GIVE_UP = 120.0
# the longest a watch waits without looking again (a missed notification costs no more)
_RECHECK = 30.0


class K8sPlugin(TaskPlugin, ReadsLogs):
    """Runs Python and container tasks as pods (``task_targets = "python=k8s,container=k8s"``)."""

    name: ClassVar[str] = "k8s"
    task_types: ClassVar[tuple[str, ...]] = ("python", "container")
    poll_interval: ClassVar[float] = 1.0

    def __init__(self, config: K8sConfig | None = None, *, own_settings: bool = False) -> None:
        """``config`` as given (None: every layer, read on first use); ``own_settings``: under
        the plugin's own file and WINGSPAN_K8S_* variables, read on first use."""
        self._given = config
        self._config: K8sConfig | None = None if own_settings or config is None else config
        self._thread: ClusterThread | None = None
        # touched on the plugin's own loop only
        self._aborted: set[tuple[str, str]] = set()
        self._pull_seen: dict[str, float] = {}

    @property
    def config(self) -> K8sConfig:
        if self._config is None:
            given = self._given
            self._config = given.over_own_settings() if given is not None else K8sConfig.load()
        return self._config

    async def on_cluster(self, work: Callable[[Cluster], Awaitable[T]]) -> T:
        """Runs ``work(cluster)`` on the plugin's own loop (where the client and watches live)."""
        if self._thread is None:
            self._thread = ClusterThread(self.config)
        return await self._thread.run(work)

    async def aclose(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            await thread.close()

    # ---- start ----------------------------------------------------------------------------

    async def start(self, ctx: TaskContext) -> Handle:
        from wingspan.core.engine.attempt_files import AttemptFiles
        from wingspan.core.model import codec

        store, prefix = ctx.transfer.store, ctx.transfer.prefix
        if store is None or not prefix:
            raise ConfigError("the k8s plugin passes inputs and outputs through the blob store: run it with "
                              "a store (PluginExecutor(store=...), or a server's storage setting)")
        config = self.config
        files = AttemptFiles(prefix)
        template = ctx.template
        project = template.id.project if template.id and template.id.project else config.default_project
        domain = template.id.domain if template.id and template.id.domain else config.default_domain
        # the execution's settings (a server's): its namespace, labels, annotations, service account
        settings = ctx.settings
        namespace = namespace_name(config, project, domain, settings.namespace_template if settings else "")
        attempt = Attempt(template, ctx.execution_id, ctx.node_id, ctx.attempt, namespace,
                          pod_name(ctx.execution_id, ctx.node_id, ctx.attempt),
                          files.inputs, prefix, timeout=ctx.timeout,
                          task_pod_template=_task_pod_template(template.custom),
                          traceparent=ctx.traceparent)
        if settings is not None:
            attempt.labels = {item.key: item.value for item in settings.labels}
            attempt.annotations = {item.key: item.value for item in settings.annotations}
            attempt.service_account = settings.service_account
        await store.put(attempt.inputs_uri, codec.encode(ctx.inputs))
        main = TASK_CONTAINER
        if template.type == "container":
            attempt.task_uri = files.task
            await store.put(attempt.task_uri, codec.encode(template))
            attempt.command = await _container_command(ctx)
            main = "collect"
        pod = build_pod(config, attempt)
        now = time.time()
        created, adopted = await self.on_cluster(lambda cluster: _create(cluster, pod))
        started = now
        if adopted:  # its deadlines count from when it was first made
            stamp = created.get("metadata", {}).get("creationTimestamp", "")
            if stamp:
                started = min(now, datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp())
        return {"namespace": attempt.namespace, "pod": attempt.name,
                "uid": created.get("metadata", {}).get("uid", ""), "started": started,
                "output_prefix": prefix, "main_container": main, "log_container": TASK_CONTAINER,
                "execution_id": ctx.execution_id, "node_id": ctx.node_id, "attempt": ctx.attempt,
                "project": project, "domain": domain}

    # ---- watch and poll -------------------------------------------------------------------

    async def watch(self, ctx: TaskContext, handle: Handle) -> TaskStatus:
        state = await self.on_cluster(lambda cluster: self._until_end(cluster, ctx, handle))
        return await self._status(ctx, handle, state)

    async def poll(self, ctx: TaskContext, handle: Handle) -> TaskStatus:
        async def now(cluster: Cluster) -> PodState:
            pod = await cluster.read_pod(handle["namespace"], handle["pod"])
            return (await self._observe(cluster, ctx, handle, pod))[0]

        return await self._status(ctx, handle, await self.on_cluster(now))

    async def _until_end(self, cluster: Cluster, ctx: TaskContext, handle: Handle) -> PodState:
        """Follows the pod through the namespace's watcher until the attempt ends."""
        namespace, name = handle["namespace"], handle["pod"]
        watcher = await cluster.watcher(namespace)
        while True:
            generation = watcher.generation
            failing = watcher.failing_since
            if failing is not None and time.monotonic() - failing > _WATCH_GIVE_UP:
                raise K8sError(f"Kubernetes: watching pods in {namespace} has failed for over "
                               f"{_WATCH_GIVE_UP:g}s: {watcher.error}") from watcher.error
            pod = watcher.pods.get(name)
            if pod is None:  # not seen yet (just created) or gone: ask the API server itself
                pod = await cluster.read_pod(namespace, name)
            state, wake = await self._observe(cluster, ctx, handle, pod)
            if state.phase in TERMINAL:
                return state
            await watcher.wait_change(generation, min(wake, _RECHECK))

    async def _observe(self, cluster: Cluster, ctx: TaskContext, handle: Handle,
                       pod: dict[str, Any] | None) -> tuple[PodState, float]:
        """The attempt's state from its pod, and how long until a deadline may change it.
        An attempt that ends is acted on: stopped when it must not run on, cleaned up later."""
        config = self.config
        namespace, name = handle["namespace"], handle["pod"]
        if (namespace, name) in self._aborted:
            return PodState(TaskPhase.ABORTED, "aborted"), 0.0
        waited = time.time() - float(handle["started"])
        if ctx.timeout and waited >= ctx.timeout and (pod is None or finished_at(pod) is None):
            from wingspan.core.engine.failures import timed_out

            await cluster.delete_pod(namespace, name, config.abort_grace_seconds)
            return PodState(TaskPhase.TIMED_OUT, "timed out", timed_out(ctx.timeout, ctx.node_id)), 0.0
        pull_for = 0.0
        uid = (pod or {}).get("metadata", {}).get("uid", "")
        pulling = pod is not None and pull_error(pod) is not None
        if pulling:
            pull_for = time.monotonic() - self._pull_seen.setdefault(uid, time.monotonic())
        state = classify(pod, ctx.node_id, waited=waited, pull_error_for=pull_for,
                         pending_timeout=config.pending_timeout_seconds,
                         pull_grace=config.image_pull_grace_seconds, main_container=handle["main_container"])
        if state.phase not in TERMINAL:
            wakes = [_RECHECK]
            if ctx.timeout:
                wakes.append(ctx.timeout - waited)
            if state.phase == TaskPhase.QUEUED and config.pending_timeout_seconds:
                wakes.append(config.pending_timeout_seconds - waited)
            if pulling:
                wakes.append(config.image_pull_grace_seconds - pull_for)
            return state, max(0.01, min(wakes))
        self._pull_seen.pop(uid, None)
        if pod is not None:
            ended = finished_at(pod)
            if ended is None:  # failed while pending or stuck: it must not start later
                await cluster.delete_pod(namespace, name, 0)
            else:
                cluster.schedule_cleanup(namespace, name, ended)
        return state, 0.0

    async def _status(self, ctx: TaskContext, handle: Handle, state: PodState) -> TaskStatus:
        """The status the engine sees: outputs (or the task's own error) read from the store."""
        return await attempt_status(ctx, handle["output_prefix"], state, self._logs(handle))

    # ---- abort ----------------------------------------------------------------------------

    async def abort(self, ctx: TaskContext, handle: Handle) -> None:
        await self.on_cluster(lambda cluster: self._abort(cluster, handle))

    async def _abort(self, cluster: Cluster, handle: Handle) -> None:
        namespace, name = handle["namespace"], handle["pod"]
        self._aborted.add((namespace, name))
        await cluster.delete_pod(namespace, name, self.config.abort_grace_seconds)
        watcher = await cluster.watcher(namespace)
        deadline = time.monotonic() + self.config.abort_wait_seconds
        while time.monotonic() < deadline:
            generation = watcher.generation
            # the watcher may not have seen a pod created a moment ago: ask when it says "gone"
            if name not in watcher.pods and await cluster.read_pod(namespace, name) is None:
                return
            await watcher.wait_change(generation, min(1.0, deadline - time.monotonic()))
        await cluster.delete_pod(namespace, name, 0)  # its node did not stop it in time: force

    # ---- logs -----------------------------------------------------------------------------

    def _logs(self, handle: Handle) -> tuple[TaskLog, ...]:
        fields = {"namespace": handle["namespace"], "pod": handle["pod"],
                  "container": handle["log_container"],
                  "execution_id": handle["execution_id"], "node_id": handle["node_id"],
                  "attempt": handle["attempt"], "project": handle["project"], "domain": handle["domain"]}
        own = TaskLog("pod", f"k8s://{handle['namespace']}/{handle['pod']}/{handle['log_container']}")
        return (own, *(TaskLog(label, text.format(**fields))
                       for label, text in sorted(self.config.log_links.items())))

    async def read_logs(self, handle: Handle, offset: int = 0) -> bytes:
        """The log of the attempt's pod (its task container) so far, from byte ``offset``."""
        data = await self.on_cluster(
            lambda cluster: cluster.read_log(handle["namespace"], handle["pod"], handle["log_container"]))
        return data[offset:]


async def _create(cluster: Cluster, pod: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """Creates the pod (its namespace first, and its watcher: no event of it is missed);
    returns it, and whether it was there already (a start repeated after a crash)."""
    namespace, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
    await cluster.ensure_namespace(namespace)
    await cluster.watcher(namespace)
    created = await cluster.create_pod(pod)
    if created is None:
        return await cluster.read_pod(namespace, name) or {}, True
    return created, False


def _task_pod_template(custom: LiteralMap | None) -> dict[str, Any]:
    """The pod template a task carries in its custom (``K8sPod(pod_template=...)``)."""
    if custom is None or "pod_template" not in custom.literals:
        return {}
    literal = custom.literals["pod_template"]
    try:
        template = json.loads(literal.value) if literal.kind == "string" else None
    except ValueError as exc:
        raise ConfigError(f"the task's pod_template is not JSON: {exc}") from exc
    if not isinstance(template, dict):
        raise ConfigError("the task's pod_template should be a JSON object (a pod manifest)")
    return template


async def _container_command(ctx: TaskContext) -> list[str]:
    from wingspan_k8s._container_io import input_texts, render_command

    container = ctx.template.container
    assert container is not None
    input_dir, output_dir = container.input_dir or "/var/inputs", container.output_dir or "/var/outputs"
    texts = await input_texts(ctx.inputs, ctx.template.interface, ctx.transfer, input_dir, ctx.task_name)
    return render_command(container.command, texts, input_dir, output_dir, ctx.task_name)
