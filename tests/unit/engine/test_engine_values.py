"""A condition reads a literal as plain Python the one way a client does (core's to_natural),
and refuses, naming the kind, what it cannot compare."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from wingspan.core.engine.values import COMPARABLE_KINDS, natural
from wingspan.core.model.literals import EnumValue, Literal, LiteralCollection, UnionValue
from wingspan.core.types.naturals import to_natural
from wingspan.core.types.purity import to_literal_now

COMPARABLE: list[tuple[Literal, Any]] = [
    (to_literal_now(7, int), 7),
    (to_literal_now(2.5, float), 2.5),
    (to_literal_now("a", str), "a"),
    (to_literal_now(True, bool), True),
    (to_literal_now(b"x", bytes), b"x"),
    (to_literal_now(2**70, int), 2**70),
    (to_literal_now(None, type(None)), None),
    (Literal("enum", EnumValue("RED")), "RED"),
    (Literal("union", UnionValue(to_literal_now(3, int), "int")), 3),
]


@pytest.mark.parametrize(("literal", "plain"), COMPARABLE, ids=lambda v: getattr(v, "kind", repr(v)))
def test_a_condition_reads_a_literal_as_the_client_does(literal: Literal, plain: Any) -> None:
    assert natural(literal) == to_natural(literal) == plain
    assert type(natural(literal)) is type(plain)


def test_every_comparable_kind_is_pinned() -> None:
    pinned = {lit.kind for lit, _ in COMPARABLE} - {"union"}
    assert pinned == COMPARABLE_KINDS


@pytest.mark.parametrize("literal", [
    to_literal_now(dt.datetime(2026, 1, 1, tzinfo=dt.UTC), dt.datetime),
    Literal("collection", LiteralCollection((to_literal_now(1, int),))),
    Literal("union", UnionValue(Literal("collection", LiteralCollection()), "list")),
], ids=["datetime", "collection", "union of collection"])
def test_a_condition_refuses_what_it_cannot_compare(literal: Literal) -> None:
    inner = literal.value.value if literal.kind == "union" else literal
    with pytest.raises(TypeError, match=f"cannot compare a {inner.kind} value in a condition"):
        natural(literal)


def test_python_values_pass_as_they_are() -> None:
    marker = object()
    assert natural(marker) is marker
