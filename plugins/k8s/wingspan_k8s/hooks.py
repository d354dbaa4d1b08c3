"""The plugin's hooks (entry point ``k8s`` in the group ``wingspan``). Importing this module
loads neither the Kubernetes client nor the plugin's configuration: both come on first use."""

from __future__ import annotations

from collections.abc import Sequence

from wingspan.core.plugins.contract import TaskPlugin
from wingspan.core.plugins.hookspecs import hookimpl


@hookimpl
def wingspan_task_plugins() -> Sequence[TaskPlugin]:
    from wingspan_k8s._plugin import K8sPlugin

    return [K8sPlugin()]
