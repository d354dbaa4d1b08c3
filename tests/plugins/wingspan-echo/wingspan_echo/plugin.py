"""The backend half: a task plugin for the type "echo", a notifier, a CLI command, and the
plugin's configuration (its [plugins.echo] table). It imports wingspan.plugin only, as a
plugin should: loading it loads no server module."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from wingspan.plugin import (
    Handle,
    Literal,
    LiteralMap,
    Notice,
    Notifier,
    TaskContext,
    TaskPhase,
    TaskPlugin,
    TaskStatus,
    hookimpl,
)


@dataclass(frozen=True)
class EchoConfig:
    """[plugins.echo]: text put before every echo, and how many times the text is said."""

    banner: str = ""
    repeat: int = 1
    tags: list[str] = field(default_factory=list)


class EchoTarget(TaskPlugin):
    name: ClassVar[str] = "echo"
    task_types: ClassVar[tuple[str, ...]] = ("echo",)
    poll_interval: ClassVar[float] = 0.01
    polls = 0

    def __init__(self, config: EchoConfig | None = None) -> None:
        self.config = config or EchoConfig()

    async def start(self, ctx: TaskContext) -> Handle:
        custom = ctx.template.custom.literals if ctx.template.custom else {}
        prefix = custom["prefix"].value if "prefix" in custom else ""
        delay = custom["delay"].value if "delay" in custom else 0.0
        text = ctx.inputs.literals["text"].value * self.config.repeat
        # all a later poll needs, as plain data: another process can resume from it
        return {"text": f"{self.config.banner}{prefix}{text}", "ready_at": time.time() + delay}

    async def poll(self, ctx: TaskContext, handle: Handle) -> TaskStatus:
        EchoTarget.polls += 1
        if time.time() < handle["ready_at"]:
            return TaskStatus(TaskPhase.RUNNING)
        return TaskStatus(TaskPhase.SUCCEEDED, LiteralMap({"o0": Literal("string", handle["text"])}))

    async def abort(self, ctx: TaskContext, handle: Handle) -> None:
        return None


class EchoNotifier:
    """Keeps the notices it is given (kind "echo")."""

    def __init__(self) -> None:
        self.sent: list[tuple[Any, Notice]] = []

    async def send(self, target: Any, notice: Notice) -> None:
        self.sent.append((target, notice))


@hookimpl
def wingspan_config_schema() -> type:
    return EchoConfig


@hookimpl
def wingspan_task_plugins(config: EchoConfig) -> Sequence[TaskPlugin]:
    return [EchoTarget(config)]


@hookimpl
def wingspan_notifiers() -> Mapping[str, Notifier]:
    return {"echo": EchoNotifier()}


@hookimpl
def wingspan_cli_commands() -> Mapping[str, Any]:
    return {"echo-hello": "wingspan_echo.cli:hello"}
