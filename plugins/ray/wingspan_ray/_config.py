"""The plugin's settings: ``RayConfig``, the schema of its ``[plugins.ray]`` table
(``WINGSPAN_PLUGINS__RAY__<FIELD>`` in the environment)."""

from __future__ import annotations

import dataclasses
from typing import Any

__all__ = ["RayConfig"]


@dataclasses.dataclass(frozen=True)
class RayConfig:
    """Where Ray tasks run, and how local Ray clusters are started."""

    # a running head's Jobs API address (http://host:8265) for every Ray task that names none:
    # each attempt is a Ray job there (empty: local clusters)
    address: str = ""

    # a folder for the local clusters' session files (empty: Ray's default, /tmp/ray); Ray's
    # socket paths must stay short, so keep it near the root
    temp_dir: str = ""

    # Kubernetes (target ray-k8s: a RayJob per attempt for KubeRay; the cluster is [plugins.k8s]'s):
    # the image of the head, workers and submitter ("": the task's image, else [plugins.k8s]
    # default_image; it must have Ray of k8s_ray_version and Wingspan), and fields merged over
    # every RayJob's spec (checked against its schema at each start)
    k8s_image: str = ""
    k8s_ray_version: str = "2.46.0"
    k8s_job: dict[str, Any] = dataclasses.field(default_factory=dict)
