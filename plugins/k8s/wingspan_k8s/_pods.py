"""Pod manifests for task attempts (plain dicts, as the API server stores them).

A Python task's pod runs ``wingspan execute`` in one container named ``task``. A container
task's pod runs three containers in order, sharing two emptyDir volumes: the ``stage``
init container writes the inputs as files, the ``task`` init container is the user's
command, and the ``collect`` container turns the output files into ``outputs.pb``. (Init
containers run one after another and stop the pod at the first failure: no sidecar or
shared process namespace is needed.)

The configured pod template lies under every pod, the task's own template (``K8sPod``)
over it, and the plugin's pod over both: template containers named ``task`` (or
``primary``) are merged into the task's container, others run beside it.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass, field
from typing import Any

from wingspan.core.engine.context import Secrets
from wingspan.core.model.tasks import ResourceSet, SecretMount, TaskTemplate
from wingspan_k8s._config import K8sConfig

__all__ = ["Attempt", "build_pod", "label_value", "merge_pod", "namespace_name", "pod_name"]

MANAGED_BY = "app.kubernetes.io/managed-by"
LABEL_EXECUTION = "wingspan.io/execution"
LABEL_NODE = "wingspan.io/node"
LABEL_ATTEMPT = "wingspan.io/attempt"
LABEL_TASK = "wingspan.io/task"
ANNOTATION_PREFIX = "wingspan.io/"
TASK_CONTAINER = "task"
PRIMARY_NAMES = (TASK_CONTAINER, "primary")
GPU_RESOURCE = "nvidia.com/gpu"

_NOT_DNS = re.compile(r"[^a-z0-9-]+")
_NOT_LABEL = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass
class Attempt:
    """Everything a pod of one attempt is made from."""

    template: TaskTemplate
    execution_id: str
    node_id: str
    attempt: int
    namespace: str
    name: str
    inputs_uri: str
    output_prefix: str
    task_uri: str = ""
    timeout: float | None = None
    # container tasks: the command with its input placeholders replaced
    command: list[str] = field(default_factory=list)
    # the task's own pod template (from K8sPod in the template's custom)
    task_pod_template: dict[str, Any] = field(default_factory=dict)
    # the execution's settings (its project's, launch plan's...), over the configured ones
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    service_account: str = ""
    # the attempt's W3C trace context when the engine traces: the body's spans join its trace
    traceparent: str = ""


def _dns(text: str, limit: int) -> str:
    return _NOT_DNS.sub("-", text.lower()).strip("-")[:limit].strip("-")


def namespace_name(config: K8sConfig, project: str, domain: str, template: str = "") -> str:
    """A DNS label for ``template`` (default: the configured ``namespace_template``) filled with
    the project and domain."""
    text = (template or config.namespace_template).format(project=project or config.default_project,
                                                          domain=domain or config.default_domain)
    return _dns(text, 63) or "wingspan"


def pod_name(execution_id: str, node_id: str, attempt: int) -> str:
    """A stable pod name for one attempt (a start repeated after a crash finds the same pod)."""
    digest = hashlib.sha256(f"{execution_id}\0{node_id}\0{attempt}".encode()).hexdigest()[:10]
    readable = _dns(f"{execution_id.rsplit('/', 1)[-1][:20]}-{node_id[-24:]}", 40)
    return f"{readable}-{attempt}-{digest}" if readable else f"ws-{attempt}-{digest}"


def label_value(text: str) -> str:
    """A valid label value (63 characters, alphanumeric at both ends) for any text."""
    value = _NOT_LABEL.sub("-", text)
    if len(value) > 63:
        value = value[:54] + "-" + hashlib.sha256(text.encode()).hexdigest()[:8]
    return value.strip("-_.")


def build_pod(config: K8sConfig, attempt: Attempt) -> dict[str, Any]:
    """The pod of ``attempt``, templates merged in."""
    template = attempt.template
    metadata = template.metadata
    env = _env(config, attempt)
    volumes, mounts = _secret_volumes(config, template)
    container: dict[str, Any] = {
        "name": TASK_CONTAINER,
        "image": (template.container.image if template.container else "") or config.default_image,
        "env": env,
        "volumeMounts": mounts,
    }
    if config.env_from_secrets:
        container["envFrom"] = [{"secretRef": {"name": name}} for name in config.env_from_secrets]
    resources = _resources(template)
    if resources:
        container["resources"] = resources
    spec: dict[str, Any] = {"restartPolicy": "Never", "volumes": volumes}
    if template.type == "container":
        _container_task(config, attempt, container, spec)
    else:
        container["command"] = [*config.execute_command, *_execute_args(attempt)]
        spec["containers"] = [container]
    if attempt.timeout:
        # the kubelet stops the pod at the deadline even if no engine is watching
        spec["activeDeadlineSeconds"] = max(1, math.ceil(attempt.timeout))
    if config.node_name:
        spec["nodeName"] = config.node_name
    if attempt.service_account or config.service_account:
        spec["serviceAccountName"] = attempt.service_account or config.service_account
    if metadata is not None and metadata.interruptible:
        if config.interruptible_tolerations:
            spec["tolerations"] = list(config.interruptible_tolerations)
        if config.interruptible_node_selector:
            spec["nodeSelector"] = dict(config.interruptible_node_selector)
    pod = {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": attempt.name, "namespace": attempt.namespace,
                     "labels": {**config.labels, **attempt.labels, **_labels(attempt)},
                     "annotations": {**config.annotations, **attempt.annotations, **_annotations(attempt)}},
        "spec": spec,
    }
    base = merge_pod(config.pod_template, attempt.task_pod_template)
    return merge_pod(base, pod)


def _execute_args(attempt: Attempt) -> list[str]:
    code = attempt.template.code
    args = ["--module", code.module if code else "", "--qualname", code.qualname if code else "",
            "--inputs", attempt.inputs_uri, "--output-prefix", attempt.output_prefix,
            "--execution-id", attempt.execution_id, "--node-id", attempt.node_id,
            "--attempt", str(attempt.attempt)]
    if code is not None and code.bundle_uri:
        args += ["--bundle", code.bundle_uri]
    return args


def _container_task(config: K8sConfig, attempt: Attempt, container: dict[str, Any],
                    spec: dict[str, Any]) -> None:
    task = attempt.template.container
    assert task is not None, "a container task has a container"
    input_dir, output_dir = task.input_dir or "/var/inputs", task.output_dir or "/var/outputs"
    spec["volumes"] += [{"name": "wingspan-inputs", "emptyDir": {}},
                        {"name": "wingspan-outputs", "emptyDir": {}}]
    inputs_mount = {"name": "wingspan-inputs", "mountPath": input_dir}
    outputs_mount = {"name": "wingspan-outputs", "mountPath": output_dir}
    copilot = {"image": config.copilot_image or config.default_image, "env": _copilot_env(config)}
    if config.env_from_secrets:
        copilot["envFrom"] = container["envFrom"]
    container["command"] = list(attempt.command)
    if task.args:
        container["args"] = list(task.args)
    container["volumeMounts"] = [*container["volumeMounts"], inputs_mount, outputs_mount]
    spec["initContainers"] = [
        {"name": "stage", **copilot, "volumeMounts": [inputs_mount],
         "command": [*config.copilot_command, "stage", "--task", attempt.task_uri,
                     "--inputs", attempt.inputs_uri, "--dir", input_dir]},
        container,
    ]
    spec["containers"] = [
        {"name": "collect", **copilot, "volumeMounts": [outputs_mount],
         "command": [*config.copilot_command, "collect", "--task", attempt.task_uri,
                     "--output-prefix", attempt.output_prefix, "--dir", output_dir,
                     "--node-id", attempt.node_id]},
    ]


def _copilot_env(config: K8sConfig) -> list[dict[str, Any]]:
    return [{"name": k, "value": v} for k, v in sorted(config.env.items())]


def _env(config: K8sConfig, attempt: Attempt) -> list[dict[str, Any]]:
    values = dict(config.env)
    if attempt.template.container is not None:
        values.update({kv.key: kv.value for kv in attempt.template.container.env})
    values.update({"WINGSPAN_EXECUTION_ID": attempt.execution_id, "WINGSPAN_NODE_ID": attempt.node_id,
                   "WINGSPAN_ATTEMPT": str(attempt.attempt)})
    if attempt.traceparent:
        values["TRACEPARENT"] = attempt.traceparent
    env: list[dict[str, Any]] = [{"name": k, "value": v} for k, v in sorted(values.items())]
    files = False
    for secret in attempt.template.secrets:
        if secret.mount == SecretMount.FILE:
            files = True
            continue
        env.append({"name": Secrets.env_name(secret.group, secret.key),
                    "valueFrom": {"secretKeyRef": {"name": _dns(secret.group, 253), "key": secret.key}}})
    if files:
        env.append({"name": "WINGSPAN_SECRETS_DIR", "value": config.secrets_dir})
    return env


def _secret_volumes(config: K8sConfig, template: TaskTemplate) -> tuple[list[dict[str, Any]],
                                                                         list[dict[str, Any]]]:
    """Secrets mounted as files: one volume per group, at ``secrets_dir/<group>/<key>``."""
    groups: dict[str, list[str]] = {}
    for secret in template.secrets:
        if secret.mount == SecretMount.FILE:
            groups.setdefault(secret.group, []).append(secret.key)
    volumes, mounts = [], []
    for index, (group, keys) in enumerate(sorted(groups.items())):
        name = f"secret-{index}-{_dns(group, 40)}"
        volumes.append({"name": name, "secret": {"secretName": _dns(group, 253),
                                                 "items": [{"key": k, "path": k} for k in keys]}})
        mounts.append({"name": name, "mountPath": f"{config.secrets_dir.rstrip('/')}/{group}",
                       "readOnly": True})
    return volumes, mounts


def _resources(template: TaskTemplate) -> dict[str, dict[str, str]]:
    model = template.container.resources if template.container else None
    if model is None:
        return {}
    out: dict[str, dict[str, str]] = {}
    for part, values in (("requests", model.requests), ("limits", model.limits)):
        quantities = _quantities(values)
        if quantities:
            out[part] = quantities
    # an extended resource is not overcommitted: Kubernetes wants its request equal to its limit
    gpu = out.get("limits", {}).get(GPU_RESOURCE) or out.get("requests", {}).get(GPU_RESOURCE)
    if gpu:
        out.setdefault("requests", {})[GPU_RESOURCE] = gpu
        out.setdefault("limits", {})[GPU_RESOURCE] = gpu
    return out


def _quantities(values: ResourceSet | None) -> dict[str, str]:
    if values is None:
        return {}
    names = (("cpu", values.cpu), ("memory", values.memory), (GPU_RESOURCE, values.gpu),
             ("ephemeral-storage", values.ephemeral_storage))
    return {name: value for name, value in names if value}


def _labels(attempt: Attempt) -> dict[str, str]:
    task = attempt.template.id.name if attempt.template.id else ""
    labels = {MANAGED_BY: "wingspan", LABEL_EXECUTION: label_value(attempt.execution_id),
              LABEL_NODE: label_value(attempt.node_id), LABEL_ATTEMPT: str(attempt.attempt)}
    if task:
        labels[LABEL_TASK] = label_value(task)
    return {k: v for k, v in labels.items() if v}


def _annotations(attempt: Attempt) -> dict[str, str]:
    """The exact ids (labels are shortened to what label values allow)."""
    task = attempt.template.id
    return {f"{ANNOTATION_PREFIX}execution-id": attempt.execution_id,
            f"{ANNOTATION_PREFIX}node-id": attempt.node_id,
            f"{ANNOTATION_PREFIX}attempt": str(attempt.attempt),
            f"{ANNOTATION_PREFIX}task": ":".join(filter(None, (task.name, task.version))) if task else "",
            f"{ANNOTATION_PREFIX}output-prefix": attempt.output_prefix}


# ---- merging templates -------------------------------------------------------------------


def merge_pod(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``over`` merged onto ``base``: tables merge key by key, ``over`` wins on values;
    containers merge by name (a base container named ``task`` or ``primary`` is the task's
    own); volumes, env and mounts merge by name; other lists add up."""
    if not base:
        return over
    merged = dict(base)
    for key, value in over.items():
        old = merged.get(key)
        if key in ("containers", "initContainers"):
            merged[key] = _merge_containers(old or [], value)
        elif key in ("volumes", "env", "volumeMounts", "ports"):
            merged[key] = _merge_named(old or [], value)
        elif isinstance(value, dict) and isinstance(old, dict):
            merged[key] = merge_pod(old, value)
        elif isinstance(value, list) and isinstance(old, list):
            merged[key] = [*old, *(v for v in value if v not in old)]
        else:
            merged[key] = value
    return merged


def _merge_named(base: list[Any], over: list[Any]) -> list[Any]:
    names = {item.get("name") for item in over if isinstance(item, dict)}
    kept = [item for item in base if not (isinstance(item, dict) and item.get("name") in names)]
    return [*kept, *over]


def _merge_containers(base: list[dict[str, Any]], over: list[dict[str, Any]]) -> list[dict[str, Any]]:
    result = [dict(c) for c in base]
    for container in over:
        name = container.get("name")
        match = next((i for i, c in enumerate(result) if c.get("name") == name), None)
        if match is None and name == TASK_CONTAINER:
            match = next((i for i, c in enumerate(result) if c.get("name") in PRIMARY_NAMES), None)
        if match is None:
            result.append(container)
        else:
            result[match] = merge_pod(result[match], container)
    return result
