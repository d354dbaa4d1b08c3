"""The plugin's settings: ``DaskConfig``, the schema of its ``[plugins.dask]`` table
(``WINGSPAN_PLUGINS__DASK__<FIELD>`` in the environment)."""

from __future__ import annotations

import dataclasses

__all__ = ["DaskConfig"]


@dataclasses.dataclass(frozen=True)
class DaskConfig:
    """Where Dask tasks run when their ``Dask(...)`` names no scheduler."""

    # a running scheduler's address for every Dask task that names none (empty: a local cluster)
    scheduler: str = ""
    # local clusters kept warm at once (by shape); the least recently used one beyond is closed
    warm_clusters: int = 1
    # seconds a local cluster may take to start its workers
    start_timeout: float = 60.0
    # Kubernetes (target dask-k8s: a DaskJob per attempt; the cluster is [plugins.k8s]'s): the image
    # of the scheduler and workers ("": the task's image, else [plugins.k8s] default_image)
    k8s_image: str = ""
