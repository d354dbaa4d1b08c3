"""The Kubernetes plugin's configuration: ``K8sConfig``, the schema of its ``[plugins.k8s]``
table.

Layered, later winning: defaults; the ``[plugins.k8s]`` table of the platform's config file
and ``WINGSPAN_PLUGINS__K8S__<FIELD>`` environment variables (read and checked when the
plugins load, and handed to the plugin's hooks); then, kept from before the platform had
plugin tables, the ``[plugins.k8s]`` table of the file named by ``$WINGSPAN_K8S_CONFIG`` and
``WINGSPAN_K8S_<FIELD>`` variables (read on first use); then keyword arguments to
:meth:`K8sConfig.load`. In variables, lists and tables are JSON
(``WINGSPAN_PLUGINS__K8S__ENV='{"PYTHONPATH": "/code"}'``).
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from wingspan.plugin import ConfigError, PluginTable, Settings, read_plugin_config

__all__ = ["ENV_PREFIX", "PLUGIN", "K8sConfig"]

PLUGIN = "k8s"
#: the plugin's own variables, from before the platform's WINGSPAN_PLUGINS__K8S__*
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
    # custom objects (SparkApplication, DaskJob...): install a missing CustomResourceDefinition
    # from the schema the plugin ships (its operator's own, when installed, is left as it is)
    install_crds: bool = True
    # log links: name -> template with {namespace} {pod} {container} {execution_id} {node_id}
    # {attempt} {project} {domain}, e.g. "https://grafana/explore?pod={pod}"
    log_links: dict[str, str] = dataclasses.field(default_factory=dict)

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls)]

    @classmethod
    def load(cls, env: Mapping[str, str] | None = None, config_file: str | Path | None = None, *,
             settings: Settings | None = None, **overrides: Any) -> K8sConfig:
        """Every layer: the platform's table (``settings``, default ``Settings.load(env=env)``),
        then ``$WINGSPAN_K8S_CONFIG`` (or ``config_file``), ``WINGSPAN_K8S_*`` and ``overrides``."""
        env = os.environ if env is None else env
        base = cls.from_settings(settings or Settings.load(env=env))
        return base.over_own_settings(env, config_file, **overrides)

    @classmethod
    def from_settings(cls, settings: Settings) -> K8sConfig:
        """The ``[plugins.k8s]`` table of the platform's ``settings`` (the config file that
        ``--config`` named, and ``WINGSPAN_PLUGINS__K8S__*``), without the plugin's own file
        and variables: for a target of another plugin built on these settings (``spark-k8s``),
        which applies those on first use."""
        return read_plugin_config(PLUGIN, cls, settings.plugin_table(PLUGIN))

    def over_own_settings(self, env: Mapping[str, str] | None = None, config_file: str | Path | None = None,
                          **overrides: Any) -> K8sConfig:
        """This configuration under the plugin's own file and variables and ``overrides``."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        sources: dict[str, str] = {}
        path = config_file or env.get(f"{ENV_PREFIX}CONFIG")
        if path:
            for key, value in _own_file_table(Path(path)).items():
                values[key.replace("-", "_")] = value
                sources[key.replace("-", "_")] = f"key {key!r} of [plugins.k8s] in {path}"
        for name in self.field_names():
            raw = env.get(ENV_PREFIX + name.upper())
            if raw:
                values[name], sources[name] = raw, f"environment variable {ENV_PREFIX}{name.upper()}"
        for name, value in overrides.items():
            values[name], sources[name] = value, f"argument {name}"
        if not values:
            return self
        given = read_plugin_config(PLUGIN, K8sConfig, PluginTable(values, sources))
        return dataclasses.replace(self, **{name: getattr(given, name) for name in values})


def _own_file_table(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"k8s plugin config file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"k8s plugin config file {path} is not valid TOML: {exc}") from exc
    table = data.get("plugins", {}).get("k8s", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [plugins.k8s] should be a table")
    return table
