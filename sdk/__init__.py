"""Wingspan: typed workflows that run the same on a laptop and on a server.

``import wingspan`` does no work beyond defining names (PEP 562): each public name
loads its module when first used, so ``import wingspan.core.errors`` or a server
module pays for no SDK module, and heavy libraries, plugins and configuration load
on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from wingspan.core.version import VERSION as __version__

if TYPE_CHECKING:
    from wingspan._authoring.conditional import conditional
    from wingspan._authoring.container_task import ContainerTask
    from wingspan._authoring.dynamic import dynamic
    from wingspan._authoring.eager import eager
    from wingspan._authoring.gates import approve, sleep, wait_for_input
    from wingspan._authoring.imperative import Workflow
    from wingspan._authoring.launch_plan import (
        ConcurrencyPolicy,
        CronSchedule,
        Email,
        FixedRate,
        LaunchPlan,
        Notify,
        PagerDuty,
        Slack,
        Webhook,
    )
    from wingspan._authoring.map import map_task
    from wingspan._authoring.plugin_task import PluginTask
    from wingspan._authoring.resources import Resources, Secret
    from wingspan._authoring.shell_task import OutputLocation, ShellTask, kwtypes
    from wingspan._authoring.task import task
    from wingspan._authoring.workflow import workflow
    from wingspan._remote.sync import Remote
    from wingspan.core.engine.context import Deck, current_context
    from wingspan.core.engine.failure_node import WorkflowFailure
    from wingspan.core.errors import NonRetryableError, WingspanError
    from wingspan.core.images.spec import ImageSpec
    from wingspan.core.types.annotated import HashMethod
    from wingspan.core.types.files import Directory, File
    from wingspan.core.types.frames import DataFrame

# public name -> the module that defines it
_HOMES = {
    "conditional": "wingspan._authoring.conditional",
    "ContainerTask": "wingspan._authoring.container_task",
    "dynamic": "wingspan._authoring.dynamic",
    "eager": "wingspan._authoring.eager",
    "approve": "wingspan._authoring.gates", "sleep": "wingspan._authoring.gates",
    "wait_for_input": "wingspan._authoring.gates",
    "Workflow": "wingspan._authoring.imperative",
    "ConcurrencyPolicy": "wingspan._authoring.launch_plan", "CronSchedule": "wingspan._authoring.launch_plan",
    "Email": "wingspan._authoring.launch_plan", "FixedRate": "wingspan._authoring.launch_plan",
    "LaunchPlan": "wingspan._authoring.launch_plan", "Slack": "wingspan._authoring.launch_plan",
    "Webhook": "wingspan._authoring.launch_plan", "Notify": "wingspan._authoring.launch_plan",
    "PagerDuty": "wingspan._authoring.launch_plan",
    "map_task": "wingspan._authoring.map",
    "PluginTask": "wingspan._authoring.plugin_task",
    "Remote": "wingspan._remote.sync",
    "Resources": "wingspan._authoring.resources", "Secret": "wingspan._authoring.resources",
    "OutputLocation": "wingspan._authoring.shell_task", "ShellTask": "wingspan._authoring.shell_task",
    "kwtypes": "wingspan._authoring.shell_task",
    "task": "wingspan._authoring.task",
    "workflow": "wingspan._authoring.workflow",
    "current_context": "wingspan.core.engine.context", "Deck": "wingspan.core.engine.context",
    "WorkflowFailure": "wingspan.core.engine.failure_node",
    "NonRetryableError": "wingspan.core.errors", "WingspanError": "wingspan.core.errors",
    "Directory": "wingspan.core.types.files", "File": "wingspan.core.types.files",
    "DataFrame": "wingspan.core.types.frames",
    "HashMethod": "wingspan.core.types.annotated",
    "ImageSpec": "wingspan.core.images.spec",
}


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'wingspan' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # later uses are plain attribute reads
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOMES})


__all__ = [
    "ConcurrencyPolicy",
    "ContainerTask",
    "CronSchedule",
    "DataFrame",
    "Deck",
    "Directory",
    "Email",
    "File",
    "FixedRate",
    "HashMethod",
    "ImageSpec",
    "LaunchPlan",
    "NonRetryableError",
    "Notify",
    "OutputLocation",
    "PagerDuty",
    "PluginTask",
    "Remote",
    "Resources",
    "Secret",
    "ShellTask",
    "Slack",
    "Webhook",
    "WingspanError",
    "Workflow",
    "WorkflowFailure",
    "__version__",
    "approve",
    "conditional",
    "current_context",
    "dynamic",
    "eager",
    "kwtypes",
    "map_task",
    "sleep",
    "task",
    "wait_for_input",
    "workflow",
]
