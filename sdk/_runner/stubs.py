"""Tasks replaced by stubs for users' unit tests (``wingspan.testing.patch``): while a stub is
installed, a local run calls it instead of the task's body. A run that reaches a stubbed task
reads and writes no cache (a stub's output must never be served to a real run later), and
refuses a target that would run the task outside this process, where the stub cannot follow."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["ACTIVE", "NOT_GIVEN", "SideEffect", "TaskStub", "install", "remove", "stub_for", "stubbed_among"]

#: a stub's return_value before one is given
NOT_GIVEN: Any = object()
#: a function of the inputs, or an exception to raise
SideEffect = Callable[..., Any] | BaseException | type[BaseException]
_lock = threading.Lock()
#: id(task) -> its stub: a plain dict, changed in place, never rebound, and empty outside
#: tests, so a task call checks for stubs with one truth test
ACTIVE: dict[int, TaskStub] = {}


class TaskStub:
    """What a patched task does instead of its body: return ``return_value``, or call
    ``side_effect`` with the task's inputs as keywords (an exception, or its class, is raised).
    Every call's inputs are kept in ``calls``."""

    def __init__(self, task: Any, return_value: Any = NOT_GIVEN,
                 side_effect: SideEffect | None = None) -> None:
        self.task = task
        self.return_value = return_value
        self.side_effect = side_effect
        self.calls: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    @property
    def call_count(self) -> int:
        return len(self.calls)

    @property
    def called(self) -> bool:
        return bool(self.calls)

    def assert_called_once_with(self, **inputs: Any) -> None:
        """Passes when the task was called exactly once, with exactly these inputs."""
        if self.calls != [inputs]:
            raise AssertionError(f"task {self.task.name!r} was expected to be called once with {inputs}; "
                                 f"its calls: {self.calls}")

    def __call__(self, inputs: dict[str, Any]) -> Any:
        with self._lock:  # map items and parallel nodes call it from several threads
            self.calls.append(dict(inputs))
        effect = self.side_effect
        if isinstance(effect, BaseException):
            raise effect
        if isinstance(effect, type) and issubclass(effect, BaseException):
            raise effect
        if effect is not None:
            return effect(**inputs)
        if self.return_value is NOT_GIVEN:
            raise AssertionError(f"task {self.task.name!r} is patched but its stub has neither a "
                                 "return_value nor a side_effect: set one, e.g. "
                                 "patch(task, return_value=...)")
        return self.return_value

    def __repr__(self) -> str:
        return f"<TaskStub of {self.task.name} ({self.call_count} calls)>"


def install(stub: TaskStub) -> None:
    with _lock:
        if id(stub.task) in ACTIVE:
            raise RuntimeError(f"task {stub.task.name!r} is already patched; end that patch first")
        ACTIVE[id(stub.task)] = stub


def remove(stub: TaskStub) -> None:
    with _lock:
        if ACTIVE.get(id(stub.task)) is stub:
            del ACTIVE[id(stub.task)]


def stub_for(task: Any) -> TaskStub | None:
    """The stub that replaces ``task`` now, if any."""
    return ACTIVE.get(id(task)) if ACTIVE else None


def stubbed_among(entities: Iterable[Any]) -> list[Any]:
    """Those of ``entities`` that are patched now."""
    if not ACTIVE:
        return []
    return [e for e in entities if id(e) in ACTIVE]
