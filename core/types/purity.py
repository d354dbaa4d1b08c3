"""Converting values that need no I/O, from synchronous code.

Workflow constants and input defaults are converted when a workflow is defined,
in plain synchronous code. Transformers of plain values never wait on anything,
so their coroutines finish on the first step; one that would wait (a File to
upload) is reported as such.
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any, TypeVar

from wingspan.core.errors import TypeTransformerError
from wingspan.core.model.literals import Literal
from wingspan.core.types import TransferContext, default_engine

__all__ = ["run_pure", "to_literal_now", "to_python_now"]

T = TypeVar("T")


def run_pure(coroutine: Coroutine[Any, Any, T], what: str) -> T:
    """Runs a coroutine that must not wait; raises TypeTransformerError if it would."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        result: T = done.value
        return result
    coroutine.close()
    raise TypeTransformerError(
        f"{what} needs the blob store (a File, Directory or data frame): pass it as a workflow "
        "input or produce it in a task instead of using it as a constant"
    )


def to_literal_now(value: Any, py_type: Any, name: str = "", ctx: TransferContext | None = None) -> Literal:
    return run_pure(default_engine().to_literal(value, py_type, ctx, name=name), f"value of {name!r}")


def to_python_now(literal: Literal, py_type: Any, name: str = "") -> Any:
    return run_pure(default_engine().to_python(literal, py_type, name=name), f"value of {name!r}")
