"""Pod manifests for tests: a shell script run on the agent's node."""

from __future__ import annotations

from typing import Any


def pod_manifest(name: str, node: str, script: str, *, restart: str = "Never",
                 annotations: dict[str, str] | None = None, **container: Any) -> dict[str, Any]:
    """One container named "main" running ``/bin/sh -c script``; extra keys go to it."""
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "annotations": annotations or {}},
        "spec": {
            # No scheduler runs: the pod is bound to the agent's node at creation.
            "nodeName": node, "restartPolicy": restart,
            "containers": [{"name": "main", "image": "busybox:1.36",
                            "command": ["/bin/sh", "-c", script], **container}],
        },
    }
