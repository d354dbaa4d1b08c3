"""The model classes that mirror IDL messages, by the message's name (what both the codec and
the wire format look up)."""

from __future__ import annotations

import enum
from functools import cache
from types import ModuleType

from wingspan.core.model import (
    deliveries,
    events,
    execution,
    execution_spec,
    interface,
    launch_plans,
    literals,
    progress,
    projects,
    settings,
    tasks,
    workflows,
)
from wingspan.core.model.record import is_record

__all__ = ["MODEL_MODULES", "model_classes"]

# every module of the model whose classes mirror IDL messages
MODEL_MODULES: list[ModuleType] = [literals, interface, tasks, workflows, launch_plans, execution,
                                   execution_spec, events, progress, projects,
                                   deliveries, settings]


@cache
def model_classes() -> dict[str, type]:
    """Model classes (records and enums) by their IDL name."""
    found: dict[str, type] = {}
    for module in MODEL_MODULES:
        for name in module.__all__:
            obj = getattr(module, name)
            if isinstance(obj, type) and (is_record(obj) or issubclass(obj, enum.Enum)):
                found[name] = obj
    return found
