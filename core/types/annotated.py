"""``Annotated[T, ...]``: a T, whatever the annotation adds. Transformers that read the
extra metadata (the data frames' column subsets) serve their own annotated types first."""

from __future__ import annotations

import typing
from collections.abc import Callable
from typing import Annotated, Any

from wingspan.core.model.literals import Literal, LiteralType
from wingspan.core.types.engine import TypeEngine
from wingspan.core.types.transformer import TransferContext, TypeTransformer

__all__ = ["AnnotatedTransformer", "HashMethod", "annotated_parts", "hash_method"]


def annotated_parts(py_type: Any) -> tuple[Any, tuple[Any, ...]]:
    """The annotated type and its metadata; ``(py_type, ())`` for a plain annotation."""
    if typing.get_origin(py_type) is Annotated:
        return py_type.__origin__, tuple(py_type.__metadata__)
    return py_type, ()


class HashMethod:
    """``Annotated[pd.DataFrame, HashMethod(fn)]``: ``fn(value)`` is the value's identity in
    the cache keys of the tasks it feeds (instead of a digest of its content), on the
    output that produces it or on the input that receives it (Flyte's spelling)."""

    def __init__(self, function: Callable[[Any], Any]) -> None:
        if not callable(function):
            raise TypeError(f"HashMethod takes a function of the value, not {type(function).__name__}")
        self.function = function

    def __repr__(self) -> str:
        return f"HashMethod({getattr(self.function, '__qualname__', self.function)!r})"


def hash_method(py_type: Any) -> Callable[[Any], Any] | None:
    """The function of a HashMethod in ``py_type``'s annotation, if it has one."""
    for extra in annotated_parts(py_type)[1]:
        if isinstance(extra, HashMethod):
            return extra.function
    return None


class AnnotatedTransformer(TypeTransformer):
    """Serves ``Annotated[T, ...]`` as T's transformer serves T."""

    name = "annotated"

    def handles(self, py_type: Any) -> bool:
        return typing.get_origin(py_type) is Annotated

    def literal_type(self, py_type: Any, engine: TypeEngine) -> LiteralType:
        return engine.literal_type(annotated_parts(py_type)[0])

    def fits(self, value: Any, py_type: Any, engine: TypeEngine, *, exact: bool) -> bool:
        return engine.fits(value, annotated_parts(py_type)[0], exact=exact)

    async def to_literal(self, value: Any, py_type: Any, engine: TypeEngine,
                         ctx: TransferContext) -> Literal:
        return await engine.to_literal_nested(value, annotated_parts(py_type)[0], ctx)

    async def to_python(self, literal: Literal, py_type: Any, engine: TypeEngine,
                        ctx: TransferContext) -> Any:
        return await engine.to_python_nested(literal, annotated_parts(py_type)[0], ctx)

    def adapt(self, value: Any, py_type: Any, engine: TypeEngine) -> Any:
        inner = annotated_parts(py_type)[0]
        return engine.transformer_for(inner).adapt(value, inner, engine)
