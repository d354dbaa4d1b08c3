"""The backend half: a task plugin for the type "echo", and a CLI command."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from wingspan.core.model.execution import TaskPhase
from wingspan.core.model.literals import Literal, LiteralMap
from wingspan.core.plugins import Handle, TaskContext, TaskPlugin, TaskStatus, hookimpl


class EchoTarget(TaskPlugin):
    name: ClassVar[str] = "echo"
    task_types: ClassVar[tuple[str, ...]] = ("echo",)
    poll_interval: ClassVar[float] = 0.01
    polls = 0

    async def start(self, ctx: TaskContext) -> Handle:
        custom = ctx.template.custom.literals if ctx.template.custom else {}
        prefix = custom["prefix"].value if "prefix" in custom else ""
        delay = custom["delay"].value if "delay" in custom else 0.0
        text = ctx.inputs.literals["text"].value
        # all a later poll needs, as plain data: another process can resume from it
        return {"text": f"{prefix}{text}", "ready_at": time.time() + delay}

    async def poll(self, ctx: TaskContext, handle: Handle) -> TaskStatus:
        EchoTarget.polls += 1
        if time.time() < handle["ready_at"]:
            return TaskStatus(TaskPhase.RUNNING)
        return TaskStatus(TaskPhase.SUCCEEDED, LiteralMap({"o0": Literal("string", handle["text"])}))

    async def abort(self, ctx: TaskContext, handle: Handle) -> None:
        return None


@hookimpl
def wingspan_task_plugins() -> Sequence[TaskPlugin]:
    return [EchoTarget()]


@hookimpl
def wingspan_cli_commands() -> Mapping[str, Any]:
    return {"echo-hello": "wingspan_echo.cli:hello"}
