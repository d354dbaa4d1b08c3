"""The backend half: a task environment for the type "ambient" that counts how often it was
set up (warm state, kept for the process) and entered, and two targets that run such bodies
(in warm worker processes, and in this process). It leaves a line in a file named by
$AMBIENT_TRACE for each set-up, enter, exit and close, so that a test can see them happen in
another process."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, ClassVar

from wingspan.plugin import (
    InProcessTarget,
    LocalProcessTarget,
    TaskEnvironment,
    TaskPlugin,
    TaskTemplate,
    hookimpl,
)


def _trace(event: str) -> None:
    path = os.environ.get("AMBIENT_TRACE")
    if path:
        with open(path, "a") as file:
            file.write(f"{os.getpid()} {event}\n")


class AmbientEnvironment(TaskEnvironment):
    task_types: ClassVar[tuple[str, ...]] = ("ambient",)
    provides: ClassVar[tuple[str, ...]] = ("ambient",)

    def __init__(self) -> None:
        self.setups = 0
        self.entries = 0
        self.warm: str | None = None

    def enter(self, template: TaskTemplate,
              context: Any) -> contextlib.AbstractContextManager[Mapping[str, Any]]:
        return self._entered(template)

    @contextlib.contextmanager
    def _entered(self, template: TaskTemplate) -> Iterator[Mapping[str, Any]]:
        custom = template.custom.literals if template.custom else {}
        label = custom["label"].value if "label" in custom else ""
        if self.warm is None:
            self.setups += 1
            self.warm = f"warm-{os.getpid()}"
            _trace("setup")
        self.entries += 1
        _trace(f"enter {label}")
        try:
            yield {"ambient": {"label": label, "warm": self.warm, "setups": self.setups,
                               "entries": self.entries, "pid": os.getpid()}}
        finally:
            _trace(f"exit {label}")

    def close(self) -> None:
        _trace("close")


class AmbientLocal(LocalProcessTarget):
    name: ClassVar[str] = "ambient-local"
    task_types: ClassVar[tuple[str, ...]] = ("ambient",)

    def worker_key(self, template: TaskTemplate) -> str:
        custom = template.custom.literals if template.custom else {}
        return str(custom["label"].value) if "label" in custom else ""


class AmbientInProcess(InProcessTarget):
    name: ClassVar[str] = "ambient-in-process"
    task_types: ClassVar[tuple[str, ...]] = ("ambient",)


@hookimpl
def wingspan_task_plugins() -> Sequence[TaskPlugin]:
    return [AmbientInProcess(), AmbientLocal()]  # the last registered is the default


@hookimpl
def wingspan_task_environments() -> Sequence[TaskEnvironment]:
    return [AmbientEnvironment()]
