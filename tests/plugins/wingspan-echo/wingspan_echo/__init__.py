"""The SDK half of a test plugin: ``@task(task_config=Echo(prefix=">"))`` makes a task of
type "echo", which the plugin runs by echoing its ``text`` input behind the prefix."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Echo"]


@dataclass
class Echo:
    prefix: str = ""
    # seconds before the attempt reports its end (so that it is polled a few times)
    delay: float = 0.0
    task_type = "echo"

    def to_custom(self) -> dict[str, Any]:
        return {"prefix": self.prefix, "delay": self.delay}
