"""``Iterator[T]``, ``Iterable[T]`` and ``Generator[T, ...]``: a stream of items, passed as its items.

A task may return a generator: its items are collected when the task ends (a generator
cannot cross a process, and a one-shot stream could not feed two tasks) and stored as a
list of T, each item by T's own transformer (a plain class's items pickled). A task that
receives one gets :class:`Items`, an iterator over them of its own.
"""

from __future__ import annotations

import collections.abc
import typing
from typing import Any

from wingspan.core.model.literals import Literal, LiteralCollection, LiteralType
from wingspan.core.types.engine import TypeEngine, mismatch_from_literal, type_repr
from wingspan.core.types.transformer import TransferContext, TypeTransformer, ValueMismatch

__all__ = ["Items", "IteratorTransformer", "is_stream_type"]

_STREAMS = (collections.abc.Iterator, collections.abc.Iterable, collections.abc.Generator)


def is_stream_type(py_type: Any) -> bool:
    """An annotation of a stream of items: Iterator[T], Iterable[T], Generator[T, ...]."""
    return typing.get_origin(py_type) in _STREAMS or py_type in _STREAMS


def _item_type(py_type: Any) -> Any:
    args = typing.get_args(py_type)
    return args[0] if args else typing.Any


class Items(collections.abc.Iterator[Any]):
    """The collected items of a stream, as an iterator over them; ``fresh()`` is another
    iterator over the same items, from the first (each consumer gets one)."""

    def __init__(self, items: collections.abc.Iterable[Any]) -> None:
        self._items = tuple(items)
        self._next = iter(self._items)

    def fresh(self) -> Items:
        return Items(self._items)

    def __next__(self) -> Any:
        return next(self._next)

    def __len__(self) -> int:
        """How many items it holds, read or not."""
        return len(self._items)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Items) and other._items == self._items

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Items({list(self._items)!r:.200})"


def _fits_stream(value: Any) -> bool:
    return isinstance(value, collections.abc.Iterable) and not isinstance(value, str | bytes | dict)


class IteratorTransformer(TypeTransformer):
    name = "iterator"

    def handles(self, py_type: Any) -> bool:
        return is_stream_type(py_type)

    def literal_type(self, py_type: Any, engine: TypeEngine) -> LiteralType:
        return LiteralType("collection_type", engine.literal_type(_item_type(py_type)),
                           annotation=type_repr(py_type))

    def fits(self, value: Any, py_type: Any, engine: TypeEngine, *, exact: bool) -> bool:
        return _fits_stream(value)  # its items are checked as they are stored

    async def to_literal(self, value: Any, py_type: Any, engine: TypeEngine,
                         ctx: TransferContext) -> Literal:
        if not _fits_stream(value):
            raise ValueMismatch.of(type_repr(py_type), value)
        item = _item_type(py_type)
        literals = []
        for index, element in enumerate(value._items if isinstance(value, Items) else value):
            try:
                literals.append(await engine.to_literal_nested(element, item, ctx))
            except ValueMismatch as exc:
                raise exc.within(f"[{index}]") from None
        return Literal("collection", LiteralCollection(tuple(literals)))

    async def to_python(self, literal: Literal, py_type: Any, engine: TypeEngine,
                        ctx: TransferContext) -> Any:
        if literal.kind != "collection":
            raise mismatch_from_literal(py_type, literal)
        item = _item_type(py_type)
        return Items([await engine.to_python_nested(lit, item, ctx) for lit in literal.value.literals])
