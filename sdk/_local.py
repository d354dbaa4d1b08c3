"""Local runs: calling a task, workflow or launch plan outside a workflow body."""

from __future__ import annotations

from typing import Any

__all__ = ["run_entity"]


def run_entity(entity: Any, values: dict[str, Any]) -> Any:
    from wingspan._task import PythonTask

    if type(entity) is PythonTask:
        inputs = {**entity.interface.defaults, **values}
        return entity.fn(**inputs)
    raise NotImplementedError(f"running a {entity.kind_label} locally needs the engine")
