"""``Annotated[T, ...]``: a T, whatever the annotation adds. Transformers that read the
extra metadata (the data frames' column subsets) serve their own annotated types first."""

from __future__ import annotations

import typing
from typing import Annotated, Any

from wingspan.core.model.literals import Literal, LiteralType
from wingspan.core.types.engine import TypeEngine
from wingspan.core.types.transformer import TransferContext, TypeTransformer

__all__ = ["AnnotatedTransformer", "annotated_parts"]


def annotated_parts(py_type: Any) -> tuple[Any, tuple[Any, ...]]:
    """The annotated type and its metadata; ``(py_type, ())`` for a plain annotation."""
    if typing.get_origin(py_type) is Annotated:
        return py_type.__origin__, tuple(py_type.__metadata__)
    return py_type, ()


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
