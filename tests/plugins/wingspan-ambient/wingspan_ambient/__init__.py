"""The SDK half of a test plugin: ``@task(task_config=Ambient(label="x"))`` makes a task of
type "ambient", whose body finds ``current_context().ambient`` set up by the plugin."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Ambient"]


@dataclass
class Ambient:
    label: str = ""
    task_type = "ambient"

    def to_custom(self) -> dict[str, Any]:
        return {"label": self.label}
