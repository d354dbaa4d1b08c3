"""Wingspan: typed workflows that run the same on a laptop and on a server.

``import wingspan`` does no work beyond defining names: heavy libraries, plugins
and configuration load on first use.
"""

from __future__ import annotations

from wingspan._conditional import conditional
from wingspan._container_task import ContainerTask
from wingspan._dynamic import dynamic
from wingspan._gates import approve, sleep, wait_for_input
from wingspan._launch_plan import (
    ConcurrencyPolicy,
    CronSchedule,
    Email,
    FixedRate,
    LaunchPlan,
    Slack,
    Webhook,
)
from wingspan._map import map_task
from wingspan._resources import Resources, Secret
from wingspan._task import task
from wingspan._workflow import workflow
from wingspan.core.engine.context import current_context
from wingspan.core.errors import NonRetryableError, WingspanError
from wingspan.core.types.files import Directory, File
from wingspan.core.types.frames import DataFrame

__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    # the remote client pulls in gRPC and the IDL: loaded when first named
    if name == "Remote":
        from wingspan._remote_sync import Remote

        return Remote
    raise AttributeError(f"module 'wingspan' has no attribute {name!r}")


__all__ = [
    "ConcurrencyPolicy",
    "ContainerTask",
    "CronSchedule",
    "DataFrame",
    "Directory",
    "Email",
    "File",
    "FixedRate",
    "LaunchPlan",
    "NonRetryableError",
    "Remote",
    "Resources",
    "Secret",
    "Slack",
    "Webhook",
    "WingspanError",
    "__version__",
    "approve",
    "conditional",
    "current_context",
    "dynamic",
    "map_task",
    "sleep",
    "task",
    "wait_for_input",
    "workflow",
]
