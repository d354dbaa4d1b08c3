"""Helpers for users' unit tests: run a workflow with chosen tasks replaced by stubs.

    from wingspan.testing import patch

    def test_report() -> None:
        with patch(fetch, return_value=[1, 2, 3]) as stub:
            assert report(day="2024-01-01") == 6
        stub.assert_called_once_with(day="2024-01-01")

``patch`` works as a context manager and as a decorator (flytekit's ``@patch(task)`` form:
the stub is passed to the test as its last positional argument; set ``return_value`` or
``side_effect`` on it). A patched task is replaced in local runs in this process: its outputs
are still checked against its declared types, and the run reads and writes no cache.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from wingspan._authoring.dynamic import DynamicTask
from wingspan._authoring.entity import Entity
from wingspan._authoring.launch_plan import LaunchPlan
from wingspan._authoring.map import MapTask
from wingspan._authoring.workflow import Workflow
from wingspan._runner.stubs import NOT_GIVEN, SideEffect, TaskStub, install, remove

__all__ = ["TaskStub", "patch", "task_mock"]

F = TypeVar("F", bound=Callable[..., Any])


class patch:  # lower case: a function to its users, as unittest.mock.patch is
    """Replaces ``task`` in local runs while active: ``patch(task, return_value=...)`` returns
    that value, ``patch(task, side_effect=fn)`` calls ``fn(**inputs)`` (an exception given as
    ``side_effect`` is raised, as a failing task would)."""

    def __init__(self, task: Any, *, return_value: Any = NOT_GIVEN,
                 side_effect: SideEffect | None = None) -> None:
        _check_patchable(task)
        self.task, self.return_value, self.side_effect = task, return_value, side_effect
        self._stub: TaskStub | None = None

    def __enter__(self) -> TaskStub:
        self._stub = TaskStub(self.task, self.return_value, self.side_effect)
        install(self._stub)
        return self._stub

    def __exit__(self, *exc: object) -> None:
        if self._stub is not None:
            remove(self._stub)
            self._stub = None

    def __call__(self, test: F) -> F:
        """As a decorator: a fresh stub for each call of ``test``, passed as its last positional
        argument."""

        if inspect.iscoroutinefunction(test):
            @functools.wraps(test)
            async def patched(*args: Any, **kwargs: Any) -> Any:  # an async test: patched while awaited
                with patch(self.task, return_value=self.return_value, side_effect=self.side_effect) as stub:
                    return await test(*args, stub, **kwargs)
        else:
            @functools.wraps(test)
            def patched(*args: Any, **kwargs: Any) -> Any:
                with patch(self.task, return_value=self.return_value, side_effect=self.side_effect) as stub:
                    return test(*args, stub, **kwargs)

        # pytest reads the signature for fixtures: the stub's parameter is not one
        signature = inspect.signature(test)
        given = [p for p in signature.parameters.values()
                 if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        if given:
            patched.__signature__ = signature.replace(  # type: ignore[attr-defined]
                parameters=[p for p in signature.parameters.values() if p is not given[-1]])
        return patched  # type: ignore[return-value]


def _check_patchable(task: object) -> None:
    if isinstance(task, Entity) and not isinstance(task, Workflow | LaunchPlan | DynamicTask | MapTask) \
            and hasattr(task, "template"):
        return
    what = f"{task.kind_label} {task.name!r}" if isinstance(task, Entity) else repr(task)
    instead = "the task it maps" if isinstance(task, MapTask) else "the tasks it calls"
    raise TypeError(f"patch() replaces a task, not {what}: patch {instead} instead")


@contextlib.contextmanager
def task_mock(task: Any) -> Iterator[TaskStub]:
    """flytekit's spelling: ``with task_mock(task) as stub: stub.return_value = ...``."""
    with patch(task) as stub:
        yield stub
