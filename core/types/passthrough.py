"""Values that stay literals: the type of a variable whose Python type is not known here.

The server runs registered workflows without importing their code: every value it
moves between nodes is a literal already (or a list or dict of them, as bindings
collect promises). A :class:`LiteralSlot` stands where a Python type would, so the
engine and the task plugins can treat such values like any other: converting to a
literal passes them through (building collections and maps from lists and dicts of
literals), converting back returns the literal untouched. Offloaded literals stay
offloaded: whoever finally needs the value loads it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from wingspan.core.model.literals import VOID, Literal, LiteralCollection, LiteralMap, LiteralType
from wingspan.core.types.transformer import TransferContext, TypeTransformer, ValueMismatch

if TYPE_CHECKING:
    from wingspan.core.types.engine import TypeEngine

__all__ = ["LiteralSlot", "PassThroughTransformer", "as_literal"]


@dataclass(frozen=True, eq=False)
class LiteralSlot:
    """A variable known by its literal type alone; its values are literals."""

    type: LiteralType | None = None


def as_literal(value: Any) -> Literal:
    """A literal from a literal, or from lists and dicts of them (None is the none literal)."""
    if isinstance(value, Literal):
        return value
    if value is None:
        return Literal("none", VOID)  # the wire codec writes the none literal's Void message
    if isinstance(value, list | tuple):
        return Literal("collection", LiteralCollection(tuple(as_literal(v) for v in value)))
    if isinstance(value, dict):
        return Literal("map", LiteralMap({str(k): as_literal(v) for k, v in value.items()}))
    raise ValueMismatch("a literal", f"{type(value).__name__} {value!r:.60}")


class PassThroughTransformer(TypeTransformer):
    """Serves :class:`LiteralSlot` variables."""

    name = "literal"

    def handles(self, py_type: Any) -> bool:
        return isinstance(py_type, LiteralSlot)

    def literal_type(self, py_type: Any, engine: TypeEngine) -> LiteralType:
        return py_type.type or LiteralType()

    def fits(self, value: Any, py_type: Any, engine: TypeEngine, *, exact: bool) -> bool:
        return isinstance(value, Literal | list | tuple | dict) or value is None

    async def to_literal(self, value: Any, py_type: Any, engine: TypeEngine, ctx: TransferContext) -> Literal:
        return as_literal(value)

    async def to_python(self, literal: Literal, py_type: Any, engine: TypeEngine,
                        ctx: TransferContext) -> Any:
        return literal
