"""Ray for Wingspan: task bodies connected to a Ray cluster, and Ray Datasets as task data.

``Ray`` is the task config (``@task(task_config=Ray(head=HeadNode(num_cpus=1),
workers=[WorkerGroup(replicas=1)]))``, task type ``ray``): the body runs connected to a local
Ray cluster that the process running it starts and keeps warm (``ray.remote`` functions run
on it), with the cluster's address as ``current_context().ray_address``. A ``ray.data.Dataset``
returned from a task is written by the cluster as Parquet in the blob store and arrives in the
next task as a Dataset, or as a pandas or arrow frame. ``RayConfig`` is the ``[plugins.ray]``
table.
"""

from __future__ import annotations

from wingspan_ray._config import RayConfig
from wingspan_ray._errors import RayRemoteTaskError, RayWorkerLostError
from wingspan_ray._task_config import HeadNode, Ray, WorkerGroup

__all__ = ["HeadNode", "Ray", "RayConfig", "RayRemoteTaskError", "RayWorkerLostError", "WorkerGroup"]
