"""The Kubernetes plugin's configuration: ``K8sConfig``.

Settings has no section for plugins, so the plugin reads its own, layered like the
platform's (later wins): defaults, the ``[plugins.k8s]`` table of a TOML file
(``$WINGSPAN_K8S_CONFIG``), then ``WINGSPAN_K8S_<FIELD>`` environment variables (lists and
tables as JSON, e.g. ``WINGSPAN_K8S_ENV='{"PYTHONPATH": "/code"}'``), then keyword
arguments to :meth:`K8sConfig.load`.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, get_type_hints

from wingspan.core.errors import ConfigError

__all__ = ["ENV_PREFIX", "K8sConfig"]

ENV_PREFIX = "WINGSPAN_K8S_"


@dataclasses.dataclass(frozen=True)
class K8sConfig:
    """How task attempts become pods. Every field has a default that works on a cluster with
    a scheduler; tests against a bare API server set ``node_name``."""

    # client: a kubeconfig file (empty: $KUBECONFIG or ~/.kube/config; in a pod, the in-cluster
    # service account) and a context in it
    kubeconfig: str = ""
    context: str = ""
    # namespaces: one per project and domain, created on demand, with this quota (spec.hard)
    namespace_template: str = "{project}-{domain}"
    default_project: str = "default"
    default_domain: str = "development"
    resource_quota: dict[str, str] = dataclasses.field(default_factory=dict)
    # images and the commands pods run (python tasks: the execute command with the attempt's
    # arguments; container tasks: the copilot stages inputs and collects outputs around them)
    default_image: str = "wingspan/wingspan:latest"
    copilot_image: str = ""
    execute_command: list[str] = dataclasses.field(default_factory=lambda: ["wingspan", "execute"])
    copilot_command: list[str] = dataclasses.field(
        default_factory=lambda: ["python", "-m", "wingspan_k8s.copilot"])
    # pod shape: environment for every pod, Secrets whose keys become environment variables
    # (blob store credentials), labels, annotations, a service account, a pod template merged
    # under every pod, and a node to bind pods to when no scheduler runs
    env: dict[str, str] = dataclasses.field(default_factory=dict)
    env_from_secrets: list[str] = dataclasses.field(default_factory=list)
    labels: dict[str, str] = dataclasses.field(default_factory=dict)
    annotations: dict[str, str] = dataclasses.field(default_factory=dict)
    service_account: str = ""
    pod_template: dict[str, Any] = dataclasses.field(default_factory=dict)
    node_name: str = ""
    # where secrets mounted as files appear (WINGSPAN_SECRETS_DIR in the pod)
    secrets_dir: str = "/etc/wingspan/secrets"
    # interruptible tasks: placed on spot / preemptible nodes
    interruptible_tolerations: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    interruptible_node_selector: dict[str, str] = dataclasses.field(default_factory=dict)
    # failures: a pod not started after pending_timeout fails (retryable); an image that cannot
    # be pulled for image_pull_grace fails (retryable); 0 turns either off
    pending_timeout_seconds: float = 600.0
    image_pull_grace_seconds: float = 60.0
    # finished pods are deleted this long after they end (negative: never)
    cleanup_after_seconds: float = 3600.0
    # abort: the pod's grace period, and how long abort waits for it to be gone
    abort_grace_seconds: int = 5
    abort_wait_seconds: float = 30.0
    # a watch asks the API server to end it after this many seconds (then it resumes)
    watch_timeout_seconds: int = 300
    # log links: name -> template with {namespace} {pod} {container} {execution_id} {node_id}
    # {attempt} {project} {domain}, e.g. "https://grafana/explore?pod={pod}"
    log_links: dict[str, str] = dataclasses.field(default_factory=dict)

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls)]

    @classmethod
    def load(cls, env: Mapping[str, str] | None = None, config_file: str | Path | None = None,
             **overrides: Any) -> K8sConfig:
        """Defaults < ``[plugins.k8s]`` of the TOML file < ``WINGSPAN_K8S_*`` < ``overrides``."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        path = config_file or env.get(f"{ENV_PREFIX}CONFIG")
        if path:
            values.update(_from_file(Path(path)))
        for name in cls.field_names():
            raw = env.get(ENV_PREFIX + name.upper())
            if raw:
                values[name] = _coerce(name, raw, f"environment variable {ENV_PREFIX}{name.upper()}")
        for name, value in overrides.items():
            values[name] = _coerce(name, value, f"argument {name}")
        return cls(**values)


def _from_file(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"k8s plugin config file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"k8s plugin config file {path} is not valid TOML: {exc}") from exc
    table = data.get("plugins", {}).get("k8s", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [plugins.k8s] should be a table")
    return {key.replace("-", "_"): _coerce(key.replace("-", "_"), value, f"key {key!r} in {path}")
            for key, value in table.items()}


_HINTS: dict[str, Any] = {}


def _coerce(name: str, value: Any, where: str) -> Any:
    if name not in K8sConfig.field_names():
        valid = ", ".join(K8sConfig.field_names())
        raise ConfigError(f"unknown k8s plugin setting {name!r} ({where}); valid settings: {valid}")
    if not _HINTS:
        _HINTS.update(get_type_hints(K8sConfig))
    target = _HINTS[name]
    origin = getattr(target, "__origin__", target)
    try:
        if origin in (list, dict):
            if isinstance(value, str):
                value = json.loads(value)
            if not isinstance(value, origin):
                raise ValueError(f"expected a {'list' if origin is list else 'table'}")
            return value
        if target is float:
            return float(value)
        if target is int:
            if isinstance(value, bool):
                raise ValueError("expected an integer")
            return int(value)
        return str(value)
    except (ValueError, TypeError) as exc:  # JSONDecodeError is a ValueError
        raise ConfigError(f"invalid value {value!r} for k8s plugin setting {name!r} ({where}): "
                          f"{exc}") from exc
