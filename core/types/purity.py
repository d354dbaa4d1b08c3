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


def _no_event_loop_errors() -> tuple[type[BaseException], ...]:
    """What anyio raises when a coroutine asks it for I/O outside an event loop (the name
    changed across the anyio versions we support)."""
    import anyio

    found: list[type[BaseException]] = []
    if (current := getattr(anyio, "NoEventLoopError", None)) is not None:
        found.append(current)
    try:
        import sniffio

        found.append(sniffio.AsyncLibraryNotFoundError)
    except ImportError:
        pass
    return tuple(found)


def run_pure(coroutine: Coroutine[Any, Any, T], what: str) -> T:
    """Runs a coroutine that must not wait; raises TypeTransformerError if it would."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        result: T = done.value
        return result
    except _no_event_loop_errors():
        pass  # it asked for file I/O (a local File to upload): the same case as waiting
    coroutine.close()
    raise TypeTransformerError(
        f"{what} needs the blob store (a local File, Directory or data frame): pass it as a workflow "
        "input or produce it in a task instead of using it as a constant or a default; a File or "
        "Directory of a remote URI (s3://..., https://...) can be one"
    )


def to_literal_now(value: Any, py_type: Any, name: str = "", ctx: TransferContext | None = None) -> Literal:
    return run_pure(default_engine().to_literal(value, py_type, ctx, name=name), f"value of {name!r}")


def to_python_now(literal: Literal, py_type: Any, name: str = "") -> Any:
    return run_pure(default_engine().to_python(literal, py_type, name=name), f"value of {name!r}")
