"""Gates: ``sleep``, ``approve`` and ``wait_for_input`` pause a workflow until time passes
or a signal arrives (from a person through the API, the CLI or a callback)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from wingspan._authoring.graph import GraphBuilder, current_builder
from wingspan._authoring.promises import NodeOutput, Promise, bind
from wingspan.core.errors import CompilationError
from wingspan.core.model.workflows import (
    ApproveCondition,
    Binding,
    GateNode,
    SignalCondition,
    SleepCondition,
)
from wingspan.core.types import UnsupportedTypeError, default_engine

__all__ = ["approve", "sleep", "wait_for_input"]


def _builder(what: str) -> GraphBuilder:
    builder = current_builder()
    if builder is None:
        raise CompilationError(f"{what} works only inside a @workflow body")
    return builder


def _duration(value: Any, what: str) -> timedelta:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = timedelta(seconds=value)
    if not isinstance(value, timedelta) or value < timedelta(0):
        raise CompilationError(f"{what}: give a timedelta >= 0 (or seconds), not {value!r}")
    return value


def _timeout(value: Any, what: str) -> timedelta | None:
    return None if value is None else _duration(value, f"{what} timeout")


def sleep(duration: timedelta | int | float) -> NodeOutput:
    """A node that waits ``duration``; order it with ``>>``."""
    builder = _builder("sleep()")
    gate = GateNode("sleep", SleepCondition(_duration(duration, "sleep()")))
    return NodeOutput(builder.add("gate_node", gate, None, "sleep"))


def approve(value: Any, name: str, *, timeout: timedelta | int | None = None) -> Promise:
    """Waits until someone approves ``value`` (a promise), then passes it on unchanged.

    Approve with ``wingspan signal set EXECUTION NAME true``; false rejects and fails the run.
    """
    builder = _builder(f"approve(..., {name!r})")
    if not isinstance(value, Promise):
        raise CompilationError(f"approve(..., {name!r}) takes the promise to approve, "
                               f"not {type(value).__name__}")
    if not name:
        raise CompilationError("approve() needs a signal name")
    gate = GateNode("approve", ApproveCondition(name), _timeout(timeout, f"approve {name!r}"))
    spec = builder.add("gate_node", gate, None, f"approve {name}")
    spec.inputs.append(Binding("value", bind(value, value.py_type, value.literal_type,
                                             f"approve {name!r}")))
    return Promise(spec, "o0", value.py_type, value.literal_type)


def wait_for_input(name: str, *, timeout: timedelta | int | None = None,
                   expected_type: Any = str) -> Promise:
    """Waits for a value of ``expected_type`` given through the API, CLI or a callback."""
    builder = _builder(f"wait_for_input({name!r})")
    if not name:
        raise CompilationError("wait_for_input() needs a signal name")
    try:
        lt = default_engine().literal_type(expected_type, where=f"wait_for_input({name!r})")
    except UnsupportedTypeError as exc:
        raise CompilationError(str(exc)) from None
    gate = GateNode("signal", SignalCondition(name, lt, "o0"), _timeout(timeout, f"input {name!r}"))
    spec = builder.add("gate_node", gate, None, f"input {name}")
    return Promise(spec, "o0", expected_type, lt)
