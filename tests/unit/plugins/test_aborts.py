"""An attempt's abort through a plugin that fails: tried again, and an attempt that could not
be aborted reported as maybe still running, with its handle (never raised into the engine)."""

from __future__ import annotations

import logging
from typing import ClassVar

import pytest

from wingspan.core.engine.retry import RetryPolicy
from wingspan.core.model.execution import TaskPhase
from wingspan.core.model.literals import LiteralMap
from wingspan.core.model.tasks import TaskTemplate
from wingspan.core.plugins.aborts import abort_attempt
from wingspan.core.plugins.contract import Handle, TaskContext, TaskPlugin, TaskStatus

FAST = RetryPolicy(first_delay=0.01, max_delay=0.02)


class Unreachable(TaskPlugin):
    """Its cluster answers after ``failures`` aborts have failed."""

    name: ClassVar[str] = "unreachable"
    task_types: ClassVar[tuple[str, ...]] = ("python",)

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0

    async def start(self, ctx: TaskContext) -> Handle:
        return {"pod": "p"}

    async def poll(self, ctx: TaskContext, handle: Handle) -> TaskStatus:
        return TaskStatus(TaskPhase.RUNNING)

    async def abort(self, ctx: TaskContext, handle: Handle) -> None:
        self.calls += 1
        if self.calls <= self.failures:
            raise ConnectionError(f"refused ({self.calls})")


def context() -> TaskContext:
    return TaskContext(TaskTemplate(), LiteralMap({}), "p/d/e1", "n3", 1)


async def test_an_abort_that_fails_twice_succeeds_at_the_third_try(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="wingspan.plugins")
    plugin = Unreachable(failures=2)
    assert await abort_attempt(plugin, context(), {"pod": "p"}, retry=FAST) is True
    assert plugin.calls == 3
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert [r.getMessage().split("(try ")[1][:6] for r in warnings] == ["1 of 5", "2 of 5"]
    assert "execution p/d/e1: aborting attempt 1 of node n3" in warnings[0].getMessage()


async def test_an_abort_that_never_succeeds_is_reported_with_its_handle(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="wingspan.plugins")
    plugin = Unreachable(failures=100)
    assert await abort_attempt(plugin, context(), {"pod": "p"}, retry=FAST, tries=3) is False
    assert plugin.calls == 3
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    message = errors[0].getMessage()
    assert "failed 3 times" in message and "refused (3)" in message
    assert "may still be running" in message and "{'pod': 'p'}" in message
