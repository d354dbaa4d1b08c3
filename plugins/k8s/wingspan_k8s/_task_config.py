"""``K8sPod``: the SDK half of the plugin, a task config that shapes a Python task's pod.

``@task(task_config=K8sPod(pod_template={...}))`` keeps the task a Python task (it runs
wherever Python tasks run); on Kubernetes its pod template is merged over the configured
one, under the pod the plugin makes (a container named ``task`` or ``primary`` in it is
merged into the task's container).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

__all__ = ["K8sPod"]


@dataclass(frozen=True)
class K8sPod:
    """A pod template (a Pod manifest, or just its ``metadata``/``spec`` parts) for a task."""

    pod_template: dict[str, Any] = field(default_factory=dict)
    task_type: str = "python"

    def to_custom(self) -> dict[str, Any]:
        return {"pod_template": json.dumps(self.pod_template, sort_keys=True)}
