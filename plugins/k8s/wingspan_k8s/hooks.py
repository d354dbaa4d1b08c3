"""The plugin's hooks (entry point ``k8s`` in the group ``wingspan``). Importing this module
does not load the Kubernetes client: it comes on first use."""

from __future__ import annotations

from collections.abc import Sequence

from wingspan.plugin import TaskPlugin, hookimpl
from wingspan_k8s._config import K8sConfig


@hookimpl
def wingspan_config_schema() -> type:
    return K8sConfig


@hookimpl
def wingspan_task_plugins(config: K8sConfig) -> Sequence[TaskPlugin]:
    from wingspan_k8s._plugin import K8sPlugin

    # the plugin's own file and variables (WINGSPAN_K8S_*) still count, read on first use
    return [K8sPlugin(config, own_settings=True)]
