"""Wingspan on Kubernetes: task attempts as pods.

``K8sPlugin`` is the task plugin (name ``k8s``, task types ``python`` and ``container``),
configured by ``K8sConfig``; ``K8sPod`` is the task config that gives a task its own pod
template. Choose the plugin with ``task_targets = "python=k8s,container=k8s"``.

``wingspan_k8s.custom_objects`` is the base of plugins whose attempts an operator runs, one
custom object per attempt (a SparkApplication, a DaskJob): subclass ``CustomObjectPlugin``.
"""

from __future__ import annotations

from wingspan_k8s._config import K8sConfig
from wingspan_k8s._plugin import K8sPlugin
from wingspan_k8s._task_config import K8sPod

__all__ = ["K8sConfig", "K8sPlugin", "K8sPod"]
