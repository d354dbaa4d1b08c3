"""One custom object per task attempt: the base of plugins whose attempts an operator runs.

A plugin for a Kubernetes operator (Spark's SparkApplication, Dask's DaskJob, Ray's RayJob)
subclasses :class:`CustomObjectPlugin`, names its :class:`CustomResource` and writes two
functions: ``build_spec`` (the object's spec for one attempt) and ``state_of`` (what the
object's status means: running, succeeded, failed with a named error). The base does the
rest, the same way for every operator:

- **start**: the inputs go to the blob store under the attempt's prefix; the object is
  checked against its CRD's schema *here* (a wrong one is refused with every problem named
  by its path, and nothing is created); the namespace is made if needed, the CRD installed
  when missing (``install_crds``), the object created, named after the attempt
  (``pod_name``: a start repeated after a crash finds the object it made and adopts it),
  with the owner labels and annotations pods get (``wingspan.io/execution``, ...).
- **watch**: the object is followed by list + watch, resumed from its resourceVersion, and
  listed again when the API server says that version is gone (410). Named failures beside
  the operator's own: ``PendingTimeout`` (not running after ``pending_timeout_seconds``; the
  object is deleted), ``ObjectDeleted`` (someone deleted it underneath), a timeout (deleted,
  TIMED_OUT).
- **outputs**: the attempt's body runs ``wingspan execute`` in the operator's driver or job
  pod, which writes ``outputs.pb`` (or the task's own ``error.pb``) under the prefix.
- **abort** deletes the object and waits (``abort_wait_seconds``) until it is gone.
- **logs**: ``read_logs`` reads the pod that ``log_source`` names from the object's status
  (the Spark driver, the Dask job runner), or that ``find_log_source`` looks up by label (a
  RayJob's submitter or head).
- The handle names the object (group, version, plural, namespace, name, uid), so another
  engine replica resumes following it after a crash.

Cluster settings are the pod plugin's (``K8sConfig``: kubeconfig, namespaces, labels,
pending timeout, abort waits...): the ``[plugins.k8s]`` table.
"""

from __future__ import annotations

import abc
import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar

from wingspan.core.errors import InvalidArgumentError, NotFoundError
from wingspan.plugin import (
    TERMINAL,
    ConfigError,
    ErrorKind,
    ExecutionError,
    Handle,
    ReadsLogs,
    TaskContext,
    TaskLog,
    TaskPhase,
    TaskPlugin,
    TaskStatus,
)
from wingspan_k8s._cluster import Cluster, ClusterThread, K8sError, translate
from wingspan_k8s._config import K8sConfig
from wingspan_k8s._object_watch import ObjectWatcher
from wingspan_k8s._outcomes import attempt_status
from wingspan_k8s._pods import MANAGED_BY, Attempt, build_pod, merge_pod, namespace_name, pod_name
from wingspan_k8s._responses import raw
from wingspan_k8s._schema import problems

__all__ = ["POD_SPEC_SCHEMA", "Attempt", "CustomObjectPlugin", "CustomResource", "InvalidObjectError",
           "ObjectState", "merge_pod", "object_error"]

T = TypeVar("T")

# a watch that has failed this long fails the attempt waiting on it
_WATCH_GIVE_UP = 120.0
# the longest a wait goes without looking again (a missed notification costs no more)
_RECHECK = 30.0
# how long a new CustomResourceDefinition may take to be served
_ESTABLISH_WITHIN = 30.0


class InvalidObjectError(InvalidArgumentError):
    """An attempt's custom object does not fit its CRD's schema (refused before the cluster)."""


@dataclass(frozen=True)
class CustomResource:
    """A custom resource type: its API group, version, kind and plural, and the
    openAPIV3Schema of that version (``{"type": "object", "properties": {"spec": ...,
    "status": ...}}``), from which the CRD is made when it is missing."""

    group: str
    version: str
    kind: str
    plural: str
    schema: dict[str, Any]
    short_names: tuple[str, ...] = ()
    # printer columns of `kubectl get`: (name, type, JSON path)
    columns: tuple[tuple[str, str, str], ...] = ()
    # the CRD's annotations (a group under k8s.io needs "api-approved.kubernetes.io")
    annotations: tuple[tuple[str, str], ...] = ()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}"

    @property
    def crd_name(self) -> str:
        return f"{self.plural}.{self.group}"

    def definition(self) -> dict[str, Any]:
        """The CustomResourceDefinition (namespaced, with the status subresource)."""
        singular = self.kind.lower()
        version: dict[str, Any] = {
            "name": self.version, "served": True, "storage": True,
            "schema": {"openAPIV3Schema": self.schema},
            "subresources": {"status": {}},
        }
        if self.columns:
            version["additionalPrinterColumns"] = [{"name": name, "type": kind, "jsonPath": path}
                                                   for name, kind, path in self.columns]
        return {
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": self.crd_name, "labels": {MANAGED_BY: "wingspan"},
                         "annotations": dict(self.annotations)},
            "spec": {"group": self.group, "scope": "Namespaced",
                     "names": {"kind": self.kind, "plural": self.plural, "singular": singular,
                               "listKind": f"{self.kind}List", "shortNames": list(self.short_names)},
                     "versions": [version]},
        }

    def check(self, spec: dict[str, Any], task: str) -> None:
        """Raises ``InvalidObjectError`` naming every problem when ``spec`` breaks the schema."""
        found = problems(self.schema, {"spec": spec})
        if found:
            raise InvalidObjectError(
                f"the {self.kind} of task {task!r} does not fit the {self.crd_name} schema, so it was not "
                f"created: {'; '.join(found)}. Fix the task's config or the plugin's settings that set "
                "these fields")


@dataclass(frozen=True)
class ObjectState:
    """What an attempt's object says, before its outputs are read: ``read_outputs`` when it
    succeeded (``outputs.pb`` is read), ``read_error`` when the task may have explained its
    failure in ``error.pb`` (that error then wins over ``error``)."""

    phase: TaskPhase
    reason: str = ""
    error: ExecutionError | None = None
    read_outputs: bool = False
    read_error: bool = False


def object_error(code: str, message: str, node_id: str, *, user: bool, retryable: bool) -> ExecutionError:
    """A named attempt error (``code`` is what a user matches on: "SparkDriverLost")."""
    return ExecutionError(code=code, message=message, kind=ErrorKind.USER if user else ErrorKind.SYSTEM,
                          retryable=retryable, node_id=node_id, occurred_at=datetime.now(UTC))


@dataclass
class _Followed:
    """Per plugin instance: objects it aborted, CRDs it knows are served."""

    aborted: set[tuple[str, str]] = field(default_factory=set)
    served: set[str] = field(default_factory=set)


class CustomObjectPlugin(TaskPlugin, ReadsLogs):
    """Runs each attempt as one custom object of ``resource`` (see the module's docstring)."""

    #: the custom resource each attempt is made as
    resource: ClassVar[CustomResource]
    poll_interval: ClassVar[float] = 1.0

    def __init__(self, k8s: K8sConfig | None = None) -> None:
        """``k8s``: the cluster settings (None: the ``[plugins.k8s]`` table, read on first use)."""
        self._given = k8s
        self._config: K8sConfig | None = None
        self._thread: ClusterThread | None = None
        self._followed = _Followed()  # touched on the plugin's own loop only
        #: the watcher of the latest watch (tests drive its resume and relist paths)
        self.last_watcher: ObjectWatcher | None = None

    @property
    def config(self) -> K8sConfig:
        if self._config is None:
            self._config = self._given.over_own_settings() if self._given is not None else K8sConfig.load()
        return self._config

    # ---- what a subclass writes -------------------------------------------------------------

    @abc.abstractmethod
    def build_spec(self, ctx: TaskContext, attempt: Attempt) -> dict[str, Any]:
        """The object's ``spec`` for ``attempt``; ``task_pod(attempt)`` is the pod a Python
        task would run as (its ``wingspan execute`` command, environment, secrets, node)."""

    @abc.abstractmethod
    def state_of(self, obj: dict[str, Any], node_id: str) -> ObjectState:
        """What the object's status means for its attempt (pure: no I/O)."""

    def log_source(self, obj: dict[str, Any]) -> tuple[str, str] | None:
        """The pod and container whose log is the attempt's (None: none yet)."""
        return None

    async def find_log_source(self, cluster: Cluster, obj: dict[str, Any]) -> tuple[str, str] | None:
        """``log_source``, for an operator whose status does not name the pod: a subclass may
        look it up (by its operator's labels) on ``cluster``."""
        return self.log_source(obj)

    def task_pod(self, attempt: Attempt) -> dict[str, Any]:
        """The pod a Python task's attempt runs as (the pod plugin's): its container runs
        ``wingspan execute`` for this attempt, with the configured environment and secrets."""
        return build_pod(self.config, attempt)

    # ---- the plugin's own loop --------------------------------------------------------------

    async def on_cluster(self, work: Callable[[Cluster], Awaitable[T]]) -> T:
        """Runs ``work(cluster)`` on the plugin's own loop (where the client and watches live)."""
        if self._thread is None:
            self._thread = ClusterThread(self.config)
        return await self._thread.run(work)

    async def aclose(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            await thread.close()

    # ---- start ------------------------------------------------------------------------------

    async def start(self, ctx: TaskContext) -> Handle:
        from wingspan.core.engine.attempt_files import AttemptFiles
        from wingspan.core.model import codec

        store, prefix = ctx.transfer.store, ctx.transfer.prefix
        if store is None or not prefix:
            raise ConfigError(f"the {self.name} plugin passes inputs and outputs through the blob store: run "
                              "it with a store (PluginExecutor(store=...), or a server's storage setting)")
        config = self.config
        template = ctx.template
        project = template.id.project if template.id and template.id.project else config.default_project
        domain = template.id.domain if template.id and template.id.domain else config.default_domain
        attempt = Attempt(template, ctx.execution_id, ctx.node_id, ctx.attempt,
                          namespace_name(config, project, domain),
                          pod_name(ctx.execution_id, ctx.node_id, ctx.attempt),
                          AttemptFiles(prefix).inputs, prefix, timeout=ctx.timeout,
                          traceparent=ctx.traceparent)
        spec = self.build_spec(ctx, attempt)
        self.resource.check(spec, ctx.task_name or ctx.node_id)  # before anything is written
        metadata = build_pod(config, attempt)["metadata"]  # the owner labels and annotations
        manifest = {"apiVersion": self.resource.api_version, "kind": self.resource.kind,
                    "metadata": metadata, "spec": spec}
        await store.put(attempt.inputs_uri, codec.encode(ctx.inputs))
        now = time.time()
        created, adopted = await self.on_cluster(lambda cluster: self._create(cluster, manifest))
        started = now
        if adopted:  # its deadlines count from when it was first made
            stamp = created.get("metadata", {}).get("creationTimestamp", "")
            if stamp:
                started = min(now, datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp())
        resource = self.resource
        return {"group": resource.group, "version": resource.version, "plural": resource.plural,
                "kind": resource.kind, "namespace": attempt.namespace, "name": attempt.name,
                "uid": created.get("metadata", {}).get("uid", ""), "started": started,
                "output_prefix": prefix,
                "execution_id": ctx.execution_id, "node_id": ctx.node_id, "attempt": ctx.attempt,
                "project": project, "domain": domain}

    async def _create(self, cluster: Cluster, manifest: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """Creates the object (namespace and CRD first); returns it, and whether it was
        there already (a start repeated after a crash)."""
        from kubernetes_asyncio.client import CustomObjectsApi

        namespace, name = manifest["metadata"]["namespace"], manifest["metadata"]["name"]
        await cluster.ensure_namespace(namespace)
        await self._ensure_definition(cluster)
        api = CustomObjectsApi(cluster.api)
        resource = self.resource
        what = f"create {resource.kind} {namespace}/{name}"
        try:
            body = await raw(api.create_namespaced_custom_object(
                resource.group, resource.version, namespace, resource.plural, manifest,
                field_validation="Strict", _preload_content=False))
        except Exception as exc:
            if getattr(exc, "status", None) != 409:
                raise translate(exc, what) from exc
            existing = await _read(api, resource.group, resource.version, resource.plural, namespace, name)
            if existing is None:  # deleted between the two requests: a new start makes it again
                raise K8sError(f"Kubernetes: {what}: it existed, then was gone") from exc
            return existing, True
        created: dict[str, Any] = json.loads(body)
        return created, False

    async def _ensure_definition(self, cluster: Cluster) -> None:
        """Installs the CRD when it is missing (idempotent: an existing one, the operator's
        own, is left as it is) and waits until the API server serves it."""
        resource = self.resource
        if resource.crd_name in self._followed.served or not self.config.install_crds:
            return
        from kubernetes_asyncio.client import ApiextensionsV1Api

        api = ApiextensionsV1Api(cluster.api)
        name = resource.crd_name
        deadline = time.monotonic() + _ESTABLISH_WITHIN
        delay = 0.05
        while True:
            try:
                crd = json.loads(await raw(api.read_custom_resource_definition(name, _preload_content=False)))
            except Exception as exc:
                status = getattr(exc, "status", None)
                if status == 403:  # may not read CRDs: trust the operator's installation
                    break
                if status != 404:
                    raise translate(exc, f"read CustomResourceDefinition {name}") from exc
                try:
                    await api.create_custom_resource_definition(resource.definition())  # type: ignore[arg-type]  # the client takes dicts
                except Exception as create_exc:
                    if getattr(create_exc, "status", None) != 409:
                        raise translate(create_exc, f"create CustomResourceDefinition {name}") from create_exc
                continue
            if _ours_but_other(crd, resource):  # made by an older Wingspan: bring it up to date
                await _replace_definition(api, resource, crd["metadata"]["resourceVersion"])
                continue
            conditions = (crd.get("status") or {}).get("conditions") or []
            if any(c.get("type") == "Established" and c.get("status") == "True" for c in conditions):
                break
            if time.monotonic() > deadline:
                raise K8sError(f"Kubernetes: CustomResourceDefinition {name} was not established within "
                               f"{_ESTABLISH_WITHIN:g}s")
            await asyncio.sleep(delay)  # the API server establishes a new CRD within moments
            delay = min(delay * 2, 1.0)
        self._followed.served.add(name)

    # ---- watch and poll ---------------------------------------------------------------------

    async def watch(self, ctx: TaskContext, handle: Handle) -> TaskStatus:
        state = await self.on_cluster(lambda cluster: self._until_end(cluster, ctx, handle))
        return await self._status(ctx, handle, state)

    async def poll(self, ctx: TaskContext, handle: Handle) -> TaskStatus:
        async def now(cluster: Cluster) -> ObjectState:
            obj = await _read(_custom(cluster), handle["group"], handle["version"], handle["plural"],
                              handle["namespace"], handle["name"])
            return (await self._observe(cluster, ctx, handle, obj))[0]

        return await self._status(ctx, handle, await self.on_cluster(now))

    async def _until_end(self, cluster: Cluster, ctx: TaskContext, handle: Handle) -> ObjectState:
        watcher = ObjectWatcher(_custom(cluster), handle["group"], handle["version"], handle["plural"],
                                handle["namespace"], handle["name"],
                                timeout_seconds=self.config.watch_timeout_seconds)
        watcher.start()
        self.last_watcher = watcher
        try:
            while True:
                generation = watcher.generation
                failing = watcher.failing_since
                if failing is not None and time.monotonic() - failing > _WATCH_GIVE_UP:
                    raise K8sError(f"Kubernetes: watching {handle['kind']} {handle['namespace']}/"
                                   f"{handle['name']} has failed for over {_WATCH_GIVE_UP:g}s: "
                                   f"{watcher.error}") from watcher.error
                if watcher.synced.is_set():
                    state, wake = await self._observe(cluster, ctx, handle, watcher.object)
                    if state.phase in TERMINAL:
                        return state
                else:
                    wake = 1.0
                await watcher.wait_change(generation, min(wake, _RECHECK))
        finally:
            await watcher.close()

    async def _observe(self, cluster: Cluster, ctx: TaskContext, handle: Handle,
                       obj: dict[str, Any] | None) -> tuple[ObjectState, float]:
        """The attempt's state from its object, and how long until a deadline may change it.
        An attempt that must not run on (timed out, pending too long) has its object deleted."""
        config = self.config
        key = (handle["namespace"], handle["name"])
        kind = handle["kind"]
        if key in self._followed.aborted:
            return ObjectState(TaskPhase.ABORTED, "aborted"), 0.0
        if obj is not None and handle["uid"] and obj.get("metadata", {}).get("uid") != handle["uid"]:
            obj = None  # another object of the same name: ours is gone
        if obj is None:
            return ObjectState(TaskPhase.FAILED, "deleted", object_error(
                "ObjectDeleted", f"the task's {kind} {key[0]}/{key[1]} was deleted before it finished (by "
                "someone else, or its namespace was removed)", ctx.node_id, user=False, retryable=True)), 0.0
        waited = time.time() - float(handle["started"])
        state = self.state_of(obj, ctx.node_id)
        if state.phase in TERMINAL:
            return state, 0.0
        if ctx.timeout and waited >= ctx.timeout:
            from wingspan.core.engine.failures import timed_out

            await self._delete(cluster, handle)
            return ObjectState(TaskPhase.TIMED_OUT, "timed out", timed_out(ctx.timeout, ctx.node_id)), 0.0
        pending = config.pending_timeout_seconds
        if state.phase == TaskPhase.QUEUED and pending and waited >= pending:
            await self._delete(cluster, handle)
            return ObjectState(TaskPhase.FAILED, "PendingTimeout", object_error(
                "PendingTimeout", f"the task's {kind} was still pending after {pending:g}s "
                f"({state.reason or 'its operator did not start it'}); it was deleted. Is the operator "
                "running, and is there room for its pods?", ctx.node_id, user=False, retryable=True)), 0.0
        wakes = [_RECHECK]
        if ctx.timeout:
            wakes.append(ctx.timeout - waited)
        if state.phase == TaskPhase.QUEUED and pending:
            wakes.append(pending - waited)
        return state, max(0.01, min(wakes))

    async def _status(self, ctx: TaskContext, handle: Handle, state: ObjectState) -> TaskStatus:
        return await attempt_status(ctx, handle["output_prefix"], state, self._logs(handle), handle["kind"])

    # ---- abort ------------------------------------------------------------------------------

    async def abort(self, ctx: TaskContext, handle: Handle) -> None:
        await self.on_cluster(lambda cluster: self._abort(cluster, handle))

    async def _abort(self, cluster: Cluster, handle: Handle) -> None:
        self._followed.aborted.add((handle["namespace"], handle["name"]))
        await self._delete(cluster, handle)
        api = _custom(cluster)
        deadline = time.monotonic() + self.config.abort_wait_seconds
        delay = 0.05
        # a finalizer of its operator may hold the object while its pods stop
        while await _read(api, handle["group"], handle["version"], handle["plural"], handle["namespace"],
                          handle["name"]) is not None:
            if time.monotonic() > deadline:
                raise K8sError(f"Kubernetes: {handle['kind']} {handle['namespace']}/{handle['name']} was "
                               f"still there {self.config.abort_wait_seconds:g}s after it was deleted "
                               "(a finalizer of its operator holds it?)")
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)

    async def _delete(self, cluster: Cluster, handle: Handle) -> None:
        try:
            # background: the object goes at once, its operator's pods after it
            await _custom(cluster).delete_namespaced_custom_object(
                handle["group"], handle["version"], handle["namespace"], handle["plural"], handle["name"],
                propagation_policy="Background")
        except Exception as exc:
            if getattr(exc, "status", None) != 404:
                what = f"delete {handle['kind']} {handle['namespace']}/{handle['name']}"
                raise translate(exc, what) from exc

    # ---- logs -------------------------------------------------------------------------------

    def _logs(self, handle: Handle) -> tuple[TaskLog, ...]:
        fields = {"namespace": handle["namespace"], "pod": handle["name"], "container": "",
                  "execution_id": handle["execution_id"], "node_id": handle["node_id"],
                  "attempt": handle["attempt"], "project": handle["project"], "domain": handle["domain"]}
        own = TaskLog(handle["kind"], f"k8s://{handle['namespace']}/{handle['plural']}/{handle['name']}")
        return (own, *(TaskLog(label, text.format(**fields))
                       for label, text in sorted(self.config.log_links.items())))

    async def read_logs(self, handle: Handle, offset: int = 0) -> bytes:
        """The log of the object's driver or job pod so far, from byte ``offset`` (b"" while
        the object names none)."""

        async def read(cluster: Cluster) -> bytes:
            namespace, name = handle["namespace"], handle["name"]
            obj = await _read(_custom(cluster), handle["group"], handle["version"], handle["plural"],
                              namespace, name)
            if obj is None:
                raise NotFoundError(f"{handle['kind']} {namespace}/{name} does not exist (any more)")
            source = await self.find_log_source(cluster, obj)
            if source is None:
                return b""
            try:
                return await cluster.read_log(namespace, *source)
            except NotFoundError:  # its pod is not made yet
                return b""

        data: bytes = await self.on_cluster(read)
        return data[offset:]


async def _replace_definition(api: Any, resource: CustomResource, version: str) -> None:
    definition = resource.definition()
    definition["metadata"]["resourceVersion"] = version
    try:
        await api.replace_custom_resource_definition(resource.crd_name, definition)
    except Exception as exc:
        if getattr(exc, "status", None) != 409:  # 409: changed meanwhile; it is read again
            raise translate(exc, f"update CustomResourceDefinition {resource.crd_name}") from exc


def _ours_but_other(crd: dict[str, Any], resource: CustomResource) -> bool:
    """Whether ``crd`` was installed by Wingspan (not an operator) with another schema."""
    if (crd.get("metadata", {}).get("labels") or {}).get(MANAGED_BY) != "wingspan":
        return False
    versions = {v.get("name"): v for v in (crd.get("spec") or {}).get("versions") or []}
    served = versions.get(resource.version) or {}
    return (served.get("schema") or {}).get("openAPIV3Schema") != resource.schema


def _custom(cluster: Cluster) -> Any:
    from kubernetes_asyncio.client import CustomObjectsApi

    return CustomObjectsApi(cluster.api)


async def _read(api: Any, group: str, version: str, plural: str, namespace: str,
                name: str) -> dict[str, Any] | None:
    try:
        body = await raw(api.get_namespaced_custom_object(group, version, namespace, plural, name,
                                                          _preload_content=False))
    except Exception as exc:
        if getattr(exc, "status", None) == 404:
            return None
        raise translate(exc, f"read {plural}.{group} {namespace}/{name}") from exc
    obj: dict[str, Any] = json.loads(body)
    return obj


#: the schema of a PodSpec inside a custom object (a DaskJob's job and cluster pods): its
#: containers named, the rest as Kubernetes' own Pod validation will check it
POD_SPEC_SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["containers"], "x-kubernetes-preserve-unknown-fields": True,
    "properties": {
        "containers": {"type": "array", "items": {
            "type": "object", "required": ["name"], "x-kubernetes-preserve-unknown-fields": True,
            "properties": {"name": {"type": "string"}, "image": {"type": "string"},
                           "command": {"type": "array", "items": {"type": "string"}},
                           "args": {"type": "array", "items": {"type": "string"}}}}},
        "restartPolicy": {"type": "string", "enum": ["Always", "OnFailure", "Never"]},
        "nodeName": {"type": "string"},
        "serviceAccountName": {"type": "string"},
        "activeDeadlineSeconds": {"type": "integer", "minimum": 1},
    },
}
