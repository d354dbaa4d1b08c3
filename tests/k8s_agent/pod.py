"""The life of one pod on the agent's node: set up, run containers, report, tear down."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from kubernetes_asyncio.client import CoreV1Api, V1DeleteOptions, V1Preconditions
from kubernetes_asyncio.client.exceptions import ApiException

from tests.k8s_agent import faults, status
from tests.k8s_agent.faults import Fault
from tests.k8s_agent.logs import ContainerLog
from tests.k8s_agent.process import SETUP_FAILED, ContainerProcess, Exit
from tests.k8s_agent.sandbox import ConfigError, Sandbox, expand
from tests.k8s_agent.status import Conditions, ContainerState

log = logging.getLogger("wingspan.test.k8s_agent")

_CONFIG_RETRY_SECONDS = 1.0
_MAX_BACKOFF_SECONDS = 10.0
_IMAGE_PULL_BACKOFF_SECONDS = 1.0


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC).replace(microsecond=0)


def _argv(container: dict[str, Any], env: dict[str, str]) -> list[str]:
    # Without a command the image's entrypoint would run; the agent knows no images, so
    # args alone are taken as the command (as for an image with no ENTRYPOINT).
    argv = (container.get("command") or []) + (container.get("args") or [])
    if not argv:
        raise ConfigError(f"container {container['name']} has no command or args: the test "
                          "node agent runs commands, not image entrypoints")
    return [expand(part, env) for part in argv]


def _missing(paths: Iterable[Path]) -> set[Path]:
    return {path for path in paths if not path.exists()}


class PodWorker:
    def __init__(self, core: CoreV1Api, pod: dict[str, Any], folder: Path,
                 extra_env: dict[str, str], fault: Fault | None = None) -> None:
        self.core = core
        self.pod = pod
        self.folder = folder
        self.extra_env = extra_env
        meta = pod["metadata"]
        self.uid: str = meta["uid"]
        self.namespace: str = meta["namespace"]
        self.name: str = meta["name"]
        spec = pod["spec"]
        self.restart_policy: str = spec.get("restartPolicy", "Always")
        self.fault = fault
        self.phase = "Pending"
        self.reason = ""
        self.message = ""
        self.start_time = _now()
        self.conditions = Conditions()
        self.init_states = [ContainerState(c["name"], c.get("image", ""), {})
                            for c in spec.get("initContainers") or []]
        self.states = [ContainerState(c["name"], c.get("image", ""), {})
                       for c in spec["containers"]]
        self.processes: dict[str, ContainerProcess] = {}
        self.logs: dict[str, list[ContainerLog]] = {}
        self._deleted = asyncio.Event()
        self._evicted = asyncio.Event()
        self._write_lock = asyncio.Lock()
        self.gone = False
        self.task: asyncio.Task[None] | None = None
        self._mount_points: set[Path] = set()

    # -- events from the agent -------------------------------------------------------------

    def observe(self, pod: dict[str, Any]) -> None:
        self.pod = pod
        if pod["metadata"].get("deletionTimestamp"):
            self._deleted.set()

    def evict(self, message: str) -> None:
        self.message = message
        self._evicted.set()

    async def forget(self) -> None:
        """The object is gone from the API (forced deletion): kill at once, report nothing."""
        self.gone = True
        if self.task is not None:
            self.task.cancel()
            # asyncio.wait, not await: a cancellation of the caller must not be swallowed
            # with the task's own (its failure is recorded by the agent's done-callback).
            await asyncio.wait([self.task])
        await self._kill_all(0)
        # the task that would have closed its containers' logs was cancelled: close them here
        for runs in self.logs.values():
            for container_log in runs:
                container_log.close()
        self._remove_mount_points()

    def _remove_mount_points(self) -> None:
        for path in self._mount_points:
            with contextlib.suppress(OSError):  # not empty or already gone: leave it
                path.rmdir()

    # -- the pod's life -------------------------------------------------------------------

    async def run(self) -> None:
        try:
            await self._run()
        except asyncio.CancelledError:
            await self._kill_all(0)
            raise
        except Exception:
            log.exception("pod %s/%s: the agent failed", self.namespace, self.name)
            raise

    async def _run(self) -> None:
        if self.fault is Fault.STUCK_PENDING or self._deleted.is_set():
            # deleted before it ever ran (or never to run): nothing to stop, only to remove
            await self._deleted.wait()
            await self._delete_object()
            return
        self.conditions.set("PodScheduled", True)
        self.conditions.set("PodReadyToStartContainers", False)
        self.conditions.set("Initialized", not self.init_states, "ContainersNotInitialized")
        self._update_readiness()
        for state in self.init_states:
            state.state = status.waiting("PodInitializing")
        for state in self.states:
            state.state = status.waiting(
                "PodInitializing" if self.init_states else "ContainerCreating")
        await self.write()
        if self.fault is Fault.IMAGE_PULL_ERROR:
            await self._fail_image_pull()
            return
        prepared = await self._prepare()
        if prepared is None:  # deleted while its configuration was missing
            await self._terminate()
            return
        self.conditions.set("PodReadyToStartContainers", True)
        if not await self._run_init_containers(prepared):
            await self._until_deleted()
            return
        await self._run_containers(prepared)

    def _update_readiness(self) -> None:
        waiting = [s.name for s in self.states if not s.is_running]
        message = f"containers with unready status: [{' '.join(waiting)}]" if waiting else ""
        self.conditions.set("ContainersReady", not waiting, "ContainersNotReady" if waiting else "",
                            message)
        self.conditions.set("Ready", not waiting, "ContainersNotReady" if waiting else "", message)

    async def _fail_image_pull(self) -> None:
        for reason in ("ErrImagePull", "ImagePullBackOff"):
            for state in self.states:
                state.state = status.waiting(
                    reason, f'simulated: failed to pull image "{state.image}": not found')
            await self.write()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._deleted.wait(), _IMAGE_PULL_BACKOFF_SECONDS)
        await self._until_deleted()

    async def _prepare(self) -> dict[str, tuple[list[str], dict[str, str], list[Any]]] | None:
        """argv, env and mounts per container; retried while a Secret or key is missing."""
        sandbox = Sandbox(self.core, self.pod, self.folder, self.extra_env)
        spec = self.pod["spec"]
        while True:
            try:
                folders = await sandbox.prepare_volumes()
                prepared = {}
                for container in (spec.get("initContainers") or []) + spec["containers"]:
                    env = await sandbox.environment(container)
                    mounts = sandbox.mounts(container, folders)
                    prepared[container["name"]] = (_argv(container, env), env, mounts)
                    # mount points are made on the host; remember new ones to remove later
                    self._mount_points.update(_missing(Path(m.target) for m in mounts))
                return prepared
            except ConfigError as exc:
                for state in self.states:
                    state.state = status.waiting("CreateContainerConfigError", str(exc))
                await self.write()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._deleted.wait(), _CONFIG_RETRY_SECONDS)
            if self._deleted.is_set():
                return None

    def _container_spec(self, name: str) -> dict[str, Any]:
        spec = self.pod["spec"]
        container: dict[str, Any]
        for container in (spec.get("initContainers") or []) + spec["containers"]:
            if container["name"] == name:
                return container
        raise KeyError(name)

    async def _start_once(self, state: ContainerState, argv: list[str], env: dict[str, str],
                          mounts: list[Any]) -> Exit:
        """One run of a container, from start to exit."""
        run = len(self.logs.setdefault(state.name, []))
        container_log = ContainerLog(self.folder / "logs" / state.name / f"{run}.log")
        self.logs[state.name].append(container_log)
        working_dir = self._container_spec(state.name).get("workingDir")
        cwd = Path(working_dir) if working_dir else self.folder / "work"
        cwd.mkdir(parents=True, exist_ok=True)
        process = ContainerProcess(argv, env=env, cwd=cwd, log=container_log, mounts=mounts)
        try:
            await process.start()
        except OSError as exc:
            container_log.close()
            now = _now()
            # containerd reports a command it cannot exec as exit code 128, reason StartError
            return Exit(128, "StartError", str(exc), now, now)
        self.processes[state.name] = process
        state.container_id = f"wingspan://{self.uid}/{state.name}/{process.pid}"
        state.state = status.running(process.started_at)
        self._update_readiness()
        await self.write()
        result = await process.wait()
        if result.code == SETUP_FAILED and process.mounts:
            return Exit(result.code, "StartError", "could not mount volumes (see container log)",
                        result.started_at, result.finished_at)
        return result

    def _should_restart(self, code: int) -> bool:
        return self.restart_policy == "Always" or (
            self.restart_policy == "OnFailure" and code != 0)

    async def _supervise(self, state: ContainerState,
                         prepared: tuple[list[str], dict[str, str], list[Any]],
                         *, restart_on_success: bool) -> int:
        """Runs a container until it ends for good; returns its last exit code."""
        backoff = 1.0
        while True:
            result = await self._start_once(state, *prepared)
            state.state = status.terminated(result.code, result.reason, result.started_at,
                                            result.finished_at, result.message,
                                            state.container_id)
            again = self._should_restart(result.code) if restart_on_success else (
                self.restart_policy != "Never" and result.code != 0)
            if not again:
                self._update_readiness()
                await self.write()
                return result.code
            state.last_state, state.restart_count = state.state, state.restart_count + 1
            state.state = status.waiting(
                "CrashLoopBackOff", f"back-off {backoff:.0f}s restarting failed container")
            self._update_readiness()
            await self.write()
            await asyncio.sleep(backoff)  # the kubelet's restart back-off, shortened
            backoff = min(backoff * 2, _MAX_BACKOFF_SECONDS)

    async def _run_init_containers(self, prepared: dict[str, Any]) -> bool:
        for state in self.init_states:
            supervise = asyncio.create_task(
                self._supervise(state, prepared[state.name], restart_on_success=False))
            if not await self._race(supervise):
                return False
            if supervise.result() != 0:
                self.phase = "Failed"
                await self.write()
                return False
        self.conditions.set("Initialized", True)
        return True

    async def _run_containers(self, prepared: dict[str, Any]) -> None:
        self.phase = "Running"
        supervisors = [asyncio.create_task(
            self._supervise(state, prepared[state.name], restart_on_success=True))
            for state in self.states]
        if self.fault is Fault.EVICT:
            delay = faults.evict_delay(self.pod)
            asyncio.get_running_loop().call_later(
                delay, self.evict, "simulated: the node was low on resource: memory")
        everything = asyncio.ensure_future(asyncio.gather(*supervisors))
        if not await self._race(everything):
            return
        codes = everything.result()
        self.phase = "Succeeded" if all(code == 0 for code in codes) else "Failed"
        await self.write()
        await self._until_deleted()

    async def _race(self, work: asyncio.Future[Any]) -> bool:
        """Waits for work, a deletion or an eviction; False when the pod was stopped."""
        deleted = asyncio.create_task(self._deleted.wait())
        evicted = asyncio.create_task(self._evicted.wait())
        await asyncio.wait({work, deleted, evicted}, return_when=asyncio.FIRST_COMPLETED)
        deleted.cancel()
        evicted.cancel()
        if work.done():
            return True
        work.cancel()
        await asyncio.wait([work])
        # Retrieved here so that asyncio does not log it from the garbage collector.
        with contextlib.suppress(asyncio.CancelledError):
            work.exception()
        if self._evicted.is_set():
            await self._evict()
            await self._until_deleted()
        else:
            await self._terminate()
        return False

    # -- stopping --------------------------------------------------------------------------

    async def _kill_all(self, grace: float) -> None:
        await asyncio.gather(*(p.kill(grace) for p in self.processes.values()))

    async def _record_kills(self, grace: float) -> None:
        started = {name: p for name, p in self.processes.items() if p.pid is not None}
        await self._kill_all(grace)
        for state in self.init_states + self.states:
            process = started.get(state.name)
            if state.is_running and process is not None:
                result = await process.wait()
                state.state = status.terminated(result.code, result.reason, result.started_at,
                                                result.finished_at, result.message,
                                                state.container_id)
            elif "waiting" in state.state:
                state.state = status.terminated(
                    137, "ContainerStatusUnknown", None,
                    message="The container could not be located when the pod was terminated")

    async def _evict(self) -> None:
        # A hard eviction gives no grace period.
        await self._record_kills(0)
        self.phase, self.reason = "Failed", "Evicted"
        self.conditions.set("DisruptionTarget", True, "TerminationByKubelet", self.message)
        self._update_readiness()
        await self.write()

    async def _terminate(self) -> None:
        """Honours a deletion: stop the processes within the grace period, then remove."""
        meta, spec = self.pod["metadata"], self.pod["spec"]
        grace = meta.get("deletionGracePeriodSeconds")
        if grace is None:
            grace = spec.get("terminationGracePeriodSeconds", 30)
        await self._record_kills(float(grace))
        if self.phase not in ("Succeeded", "Failed"):
            codes = [s.exit_code for s in self.states]
            self.phase = "Succeeded" if all(code == 0 for code in codes) else "Failed"
        self._update_readiness()
        await self.write()
        await self._delete_object()

    async def _until_deleted(self) -> None:
        await self._deleted.wait()
        await self._delete_object()

    async def _delete_object(self) -> None:
        """The kubelet's last word: remove the object the apiserver kept for it."""
        if self.gone:
            return
        options = V1DeleteOptions(grace_period_seconds=0,
                                  preconditions=V1Preconditions(uid=self.uid))
        try:
            await self.core.delete_namespaced_pod(self.name, self.namespace, body=options)
        except ApiException as exc:
            if exc.status not in (404, 409):
                raise
        self.gone = True
        self._remove_mount_points()

    # -- reporting -------------------------------------------------------------------------

    async def write(self) -> None:
        """Sends the whole status as a merge patch, so lists are replaced, never merged."""
        async with self._write_lock:
            if self.gone:
                return
            body = {
                # A uid that no longer matches makes the apiserver refuse the patch, so a pod
                # re-created under the same name never receives this one's status.
                "metadata": {"uid": self.uid},
                "status": status.pod_status(self.phase, self.conditions, self.states,
                                            self.init_states, self.start_time, self.reason,
                                            self.message if self.reason else ""),
            }
            try:
                await self.core.patch_namespaced_pod_status(  # type: ignore[call-arg]  # the client takes _content_type; its stubs leave it out
                    self.name, self.namespace, body,
                    _content_type="application/merge-patch+json")
            except ApiException as exc:
                if exc.status not in (404, 409, 422):
                    raise
                log.info("pod %s/%s: status not written (%s)", self.namespace, self.name,
                         exc.status)
