"""Errors: a wrong value names the variable, the place inside it and both types; an
unsupported type names where it was met and how to register a transformer; a
registered transformer takes over a type."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import typing
from typing import Any

import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.unit.types.exactness import assert_exact, round_trip
from tests.unit.types.samples import Color, Order, Pair, Point, Shape, examples, typed_values
from wingspan.core.errors import CompilationError, TypeTransformerError, UserError
from wingspan.core.model.literals import VOID, EnumValue, Literal, LiteralType, SimpleType
from wingspan.core.types import (
    TransferContext,
    TypeEngine,
    TypeTransformer,
    UnsupportedTypeError,
    ValueMismatch,
    builtin_transformers,
    default_engine,
    type_repr,
)


class Alien:
    """Fits no declared type."""

    def __repr__(self) -> str:
        return "Alien()"


async def convert(value: Any, py_type: Any, name: str = "inp") -> Literal:
    return await default_engine().to_literal(value, py_type, name=name)


# ---- values that do not match their type --------------------------------------------------------


@pytest.mark.parametrize(("value", "py_type", "message"), [
    ("x", int, "'inp': expected int, got str 'x'"),
    (True, int, "'inp': expected int, got bool True"),
    (3.5, int, "'inp': expected int, got float 3.5"),
    (1, str, "'inp': expected str, got int 1"),
    (1, bool, "'inp': expected bool, got int 1"),
    ([1, "a"], list[int], "'inp[1]': expected int, got str 'a'"),
    ({"k": [1, None]}, dict[str, list[int]], "\"inp['k'][1]\": expected int, got NoneType None"),
    (Shape(Point("s"), []), Shape, "'inp.origin.x': expected int, got str 's'"),  # type: ignore[arg-type]
    (Shape(Point(1), [Point(2), Point(3, "y")]), Shape,  # type: ignore[arg-type]
     "'inp.corners[1].y': expected float, got str 'y'"),
    (Pair("l"), Pair, "'inp.left': expected int, got str 'l'"),  # type: ignore[arg-type]
    ("x", int | float, "'inp': expected int | float, got str 'x'"),
    ("RED", Color, "'inp': expected Color, got str 'RED'"),
    (Point(1), Shape, "'inp': expected Shape, got Point Point(x=1, y=0.0)"),
    ({1: "a"}, dict[str, str], "'inp': expected str keys, got int 1"),
    ([Alien()], list[Point | None], "'inp[0]': expected Point | None, got Alien Alien()"),
], ids=lambda v: v if isinstance(v, str) else None)
async def test_a_mismatch_names_the_variable_the_place_and_both_types(
        value: Any, py_type: Any, message: str) -> None:
    with pytest.raises(TypeTransformerError) as caught:
        await convert(value, py_type)
    assert str(caught.value) == message
    assert isinstance(caught.value, TypeError) and isinstance(caught.value, UserError)
    assert not isinstance(caught.value, ValueMismatch)  # the path is rendered, not left inside


@pytest.mark.parametrize(("value", "py_type", "message"), [
    ("a\ud800b", str, r"^'inp': expected str encodable as UTF-8, got str 'a\\ud800b' \(lone surrogate "
                       r"at position 1\)$"),
    (["ok", "\udc80"], list[str], r"^'inp\[1\]': expected str encodable as UTF-8"),
    ({"k\ud800": 1}, dict[str, int], r"^'inp': expected str encodable as UTF-8, got str 'k\\ud800'"),
    (10**400, float, r"^'inp': expected float, got int 1000.*\(too large for a float\)$"),
], ids=["str", "list", "dict key", "float"])
async def test_values_the_wire_cannot_carry_are_refused_when_converted(
        value: Any, py_type: Any, message: str) -> None:
    with pytest.raises(TypeTransformerError, match=message):
        await convert(value, py_type)


@examples(200)
@given(st.text(st.characters() | st.characters(min_codepoint=0xD7F0, max_codepoint=0xE010)))
def test_any_text_round_trips_or_is_refused_up_front(text: str) -> None:
    try:
        anyio.run(convert, text, str)
    except TypeTransformerError as exc:
        assert "lone surrogate" in str(exc)
        return
    back, _ = anyio.run(round_trip, text, str)
    assert back == text


async def test_a_mismatch_inside_a_pydantic_model() -> None:
    order = Order.model_construct(id=1, items=[], shape=Shape(Point(1), [], label=3))  # type: ignore[arg-type]
    with pytest.raises(TypeTransformerError, match=r"^'order.shape.label': expected str \| None, got int 3"):
        await convert(order, Order, name="order")


@examples(150)
@given(typed_values(max_leaves=3))
def test_any_type_names_the_index_or_key_of_a_bad_element(typed: tuple[Any, Any]) -> None:
    py_type, good = typed

    async def check() -> None:
        with pytest.raises(TypeTransformerError) as caught:
            await convert([good, good, Alien()], list[py_type])  # type: ignore[valid-type]
        assert str(caught.value) == f"'inp[2]': expected {type_repr(py_type)}, got Alien Alien()"
        with pytest.raises(TypeTransformerError) as caught:
            await convert({"ok": good, "bad key": Alien()}, dict[str, py_type])  # type: ignore[valid-type]
        where = "inp['bad key']"  # repr() quotes it with " since it holds '
        assert str(caught.value) == f"{where!r}: expected {type_repr(py_type)}, got Alien Alien()"

    anyio.run(check)


async def test_named_variables_each_name_their_own() -> None:
    engine = default_engine()
    with pytest.raises(TypeTransformerError, match=r"^'b\[0\]': expected int, got str"):
        await engine.to_literal_map({"a": 1, "b": ["x"]}, {"a": int, "b": list[int]})
    with pytest.raises(TypeTransformerError, match=r"unexpected variables \['c'\]; expected only \['a'\]"):
        await engine.to_literal_map({"a": 1, "c": 2}, {"a": int})


async def test_a_literal_of_another_kind_is_refused_when_read() -> None:
    with pytest.raises(TypeTransformerError, match=r"^'out': expected int, got a literal of kind 'string'"):
        await default_engine().to_python(Literal("string", "3"), int, name="out")
    with pytest.raises(TypeTransformerError, match=r"^'out': expected Color, got unknown member 'PINK'"):
        await default_engine().to_python(Literal("enum", EnumValue("PINK")), Color, name="out")


# ---- unsupported types --------------------------------------------------------------------------


class Plain:
    """A class with no transformer: its values pass pickled by the default engine."""


@dataclasses.dataclass
class Node:
    value: int
    children: list[Node]


@dataclasses.dataclass
class HoldsNode:
    ok: int
    tree: Node


Unknown = typing.TypeVar("Unknown")

WHERE = "task 'train', parameter 'data'"


# what stays refused with the pickle fallback: what is no type, and types that contain themselves
@pytest.mark.parametrize(("py_type", "shown", "reason"), [
    (Unknown, "~Unknown", ""),
    (list[Unknown], "~Unknown", ""),  # type: ignore[valid-type]
    (int | Unknown, "~Unknown", ""),
    (3, "3", ""),
    (Node, "Node", "it contains itself"),
    (HoldsNode, "Node", "field HoldsNode.tree: field Node.children: it contains itself"),
], ids=lambda v: v if isinstance(v, str) else None)
def test_an_unsupported_type_names_where_what_and_how_to_register(
        py_type: Any, shown: str, reason: str) -> None:
    with pytest.raises(UnsupportedTypeError) as caught:
        default_engine().literal_type(py_type, where=WHERE)
    message = str(caught.value)
    assert message.startswith(f"{WHERE}: type {shown} is not supported"), message
    assert reason in message
    assert "default_engine().register(MyTransformer())" in message
    assert "wingspan_type_transformers" in message
    assert isinstance(caught.value, TypeTransformerError)


@pytest.mark.parametrize(("py_type", "shown"), [
    (Plain, "Plain"), (set[int], "set[int]"), (list[Plain], "Plain"), (int | Plain, "Plain"),
], ids=lambda v: v if isinstance(v, str) else None)
def test_an_engine_without_the_pickle_fallback_refuses_a_type_no_transformer_serves(
        py_type: Any, shown: str) -> None:
    with pytest.raises(UnsupportedTypeError, match=rf"^{WHERE}: type {re.escape(shown)} is not supported"):
        TypeEngine(builtin_transformers()).literal_type(py_type, where=WHERE)


async def test_an_unsupported_type_met_while_converting_names_the_variable() -> None:
    with pytest.raises(UnsupportedTypeError, match=r"^variable 'inp': type ~Unknown is not supported"):
        await convert(1, Unknown)


def test_a_task_with_unsupported_parameters_is_refused_when_defined_with_every_problem() -> None:
    from wingspan import task

    with pytest.raises(CompilationError) as caught:
        @task
        def train(data: HoldsNode, model: Unknown, epochs: int) -> Node:
            raise NotImplementedError

    problems = caught.value.problems
    assert any("train', parameter 'data': type Node is not supported" in p for p in problems), problems
    assert any("parameter 'model': type ~Unknown is not supported" in p for p in problems), problems
    assert any("output 'o0': type Node is not supported" in p for p in problems), problems
    assert all("register" in p for p in problems)


# ---- registering transformers -------------------------------------------------------------------


class PlainTransformer(TypeTransformer):
    """Stores a Plain as a string: any object with a transformer becomes convertible."""

    name = "plain"

    def handles(self, py_type: Any) -> bool:
        return py_type is Plain

    def literal_type(self, py_type: Any, engine: TypeEngine) -> LiteralType:
        return LiteralType("simple", SimpleType.STRING, annotation="Plain")

    def fits(self, value: Any, py_type: Any, engine: TypeEngine, *, exact: bool) -> bool:
        return type(value) is Plain

    async def to_literal(self, value: Any, py_type: Any, engine: TypeEngine,
                         ctx: TransferContext) -> Literal:
        if type(value) is not Plain:
            raise ValueMismatch.of("Plain", value)
        return Literal("string", "plain")

    async def to_python(self, literal: Literal, py_type: Any, engine: TypeEngine,
                        ctx: TransferContext) -> Any:
        return Plain()


class HexIntTransformer(PlainTransformer):
    """Takes over int: stores it as hex text."""

    name = "hex-int"

    def handles(self, py_type: Any) -> bool:
        return py_type is int

    def fits(self, value: Any, py_type: Any, engine: TypeEngine, *, exact: bool) -> bool:
        return type(value) is int

    async def to_literal(self, value: Any, py_type: Any, engine: TypeEngine,
                         ctx: TransferContext) -> Literal:
        return Literal("string", hex(value))

    async def to_python(self, literal: Literal, py_type: Any, engine: TypeEngine,
                        ctx: TransferContext) -> Any:
        return int(literal.value, 16)


async def test_a_registered_transformer_serves_a_new_type_also_nested() -> None:
    engine = TypeEngine(builtin_transformers())
    with pytest.raises(UnsupportedTypeError):
        engine.literal_type(list[Plain])
    engine.register(PlainTransformer())
    assert engine.literal_type(list[Plain]).value.value == SimpleType.STRING
    back, literal = await round_trip([Plain(), Plain()], list[Plain], engine=engine)
    assert [type(v) for v in back] == [Plain, Plain]
    assert literal.value.literals[0] == Literal("string", "plain")


async def test_a_registered_transformer_takes_over_a_type_already_served() -> None:
    engine = TypeEngine(builtin_transformers())
    assert (await engine.to_literal(255, int)).kind == "integer"  # cached: int -> the built-in
    engine.register(HexIntTransformer())
    assert engine.transformer_for(int).name == "hex-int"
    assert await engine.to_literal(255, int) == Literal("string", "0xff")
    back, _ = await round_trip({"a": [255]}, dict[str, list[int]], engine=engine)
    assert_exact(back, {"a": [255]})
    assert default_engine().transformer_for(int).name == "int"  # other engines keep theirs


async def test_a_transformer_registered_last_only_serves_what_no_other_does() -> None:
    engine = TypeEngine(builtin_transformers())
    engine.register(HexIntTransformer(), first=False)
    assert engine.transformer_for(int).name == "int"


def test_every_builtin_transformer_has_a_name() -> None:
    names = [t.name for t in builtin_transformers()]
    assert all(names) and len(set(names)) == len(names), names


async def test_an_untagged_value_is_read_as_the_first_variant_that_takes_it() -> None:
    engine = default_engine()
    assert await engine.to_python(Literal("integer", 3), int | None, name="v") == 3
    assert await engine.to_python(Literal("none", VOID), int | None, name="v") is None
    with pytest.raises(TypeTransformerError, match=r"expected int \| None, got a literal of kind 'string'"):
        await engine.to_python(Literal("string", "3"), int | None, name="v")


async def test_an_untagged_value_two_variants_read_is_refused_not_read_as_the_first() -> None:
    engine = default_engine()
    noon = await engine.to_literal(dt.datetime(2024, 1, 2, 12, 30), dt.datetime, name="v")
    # read as the first variant, the date would drop the time the datetime keeps
    refused = r"expected date \| datetime, got a datetime literal without its variant's tag, which date and"
    with pytest.raises(TypeTransformerError, match=refused):
        await engine.to_python(noon, dt.date | dt.datetime, name="v")
    # a variant no other reads is still taken wherever it stands
    assert await engine.to_python(noon, int | dt.datetime, name="v") == dt.datetime(2024, 1, 2, 12, 30)
    assert await engine.to_python(Literal("float", 2.5), int | float, name="v") == 2.5
