"""Inside an eager body: where the tasks it calls go. ``await task(x=1)`` there launches the
task as a child node of the eager node (through the engine's launcher) and gives back its
outputs as the task's function returns them."""

from __future__ import annotations

import contextvars
import inspect
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from wingspan.core.engine.interfaces import EagerLauncher, EntityResolver, TaskRunner

__all__ = ["EagerCalls", "current_eager_calls"]

_calls: contextvars.ContextVar[EagerCalls | None] = contextvars.ContextVar("wingspan_eager_calls",
                                                                            default=None)


def current_eager_calls() -> EagerCalls | None:
    """The eager body's call sink, when called from one (and not from a task it launched)."""
    return _calls.get()


class Runners(Protocol):
    def runner_for(self, entity: Any) -> TaskRunner:
        """The runner of ``entity``, learnt now if it is new."""

    def resolver_of(self, workflow: Any) -> EntityResolver:
        """What resolves the tasks and subworkflows inside ``workflow``."""


class EagerCalls:
    """Turns the calls of one eager body into child nodes."""

    def __init__(self, launch: EagerLauncher, resolver: Runners, where: str) -> None:
        self._launch = launch
        self._resolver = resolver
        self._where = where

    def activate(self) -> contextvars.Token[EagerCalls | None]:
        return _calls.set(self)

    @staticmethod
    def deactivate(token: contextvars.Token[EagerCalls | None]) -> None:
        _calls.reset(token)

    async def call(self, entity: Any, values: dict[str, Any]) -> Any:
        from wingspan._runner.inputs import check_inputs
        from wingspan.core.engine.values import materialize
        from wingspan.core.model.launch_plans import run_inputs
        from wingspan.core.model.tasks import TaskTemplate

        if entity.kind_label == "launch plan":  # its workflow as a child node, with the plan's inputs
            values = run_inputs(entity.name, entity.python_defaults, values, entity.fixed)
            entity = entity.workflow
        closure = getattr(entity, "closure", None)
        if not isinstance(getattr(entity, "template", None), TaskTemplate) and closure is None:
            raise TypeError(f"{self._where} awaits {entity.kind_label} {entity.name!r}, which an eager "
                            "body cannot await: it awaits tasks (Python, shell, container, dynamic, eager) "
                            "workflows and launch plans. For a map, gather the task over the items: await "
                            "asyncio.gather(*(t(x=i) for i in items))")
        for name, value in values.items():
            if inspect.iscoroutine(value):
                value.close()  # never to run: close it rather than leave Python to warn
                raise TypeError(f"{self._where}: input {name!r} of {entity.kind_label} {entity.name!r} "
                                "is a call that was not awaited; write y = await task(...) and pass y")
        inputs = {**entity.interface.defaults, **values}
        check_inputs(entity, inputs)
        target: Any
        if closure is not None:  # a workflow: a child node running its graph
            from wingspan.core.engine.interfaces import WorkflowTarget

            target = WorkflowTarget(closure, self._resolver.resolver_of(entity), entity.interface.inputs,
                                    entity.interface.outputs)
        else:
            target = self._resolver.runner_for(entity)
        # the task runs outside this body: its own calls are not this body's
        token = _calls.set(None)
        try:
            outputs = await self._launch(target, entity.short_name, inputs)
        finally:
            _calls.reset(token)
        types = entity.interface.outputs
        return entity.interface.pack_outputs({n: materialize(outputs[n], t, n) for n, t in types.items()})
