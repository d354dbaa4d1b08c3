"""Every in-memory transformer round-trips exactly: value -> literal -> bytes -> literal -> value.

Files, directories, data frames and offloading have their own modules; here no blob
store is involved.
"""

from __future__ import annotations

import datetime as dt
import math
import zoneinfo
from typing import Any, Optional

import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.unit.types.exactness import assert_exact, round_trip
from tests.unit.types.samples import (
    Color,
    Frozen,
    Item,
    Level,
    Order,
    Pair,
    Perm,
    Point,
    Shape,
    datetimes,
    examples,
    floats,
    ints,
    perms,
    timedeltas,
    typed_values,
    values_for,
)


def check(value: Any, py_type: Any) -> Any:
    back, _ = anyio.run(round_trip, value, py_type)
    assert_exact(back, value)
    return back


# ---- scalars ------------------------------------------------------------------------------------


@examples()
@given(ints)
def test_ints_of_any_size(value: int) -> None:
    check(value, int)


def test_ints_beyond_64_bits_use_the_big_integer_literal() -> None:
    for value, kind in [(2**63 - 1, "integer"), (2**63, "big_integer"), (-(2**63), "integer"),
                        (-(2**63) - 1, "big_integer"), (10**40, "big_integer")]:
        _, literal = anyio.run(round_trip, value, int)
        assert literal.kind == kind, value
        check(value, int)


@examples()
@given(floats)
def test_floats_including_nan_infinities_and_negative_zero(value: float) -> None:
    check(value, float)


def test_float_specials() -> None:
    assert math.isnan(check(math.nan, float))
    assert check(-math.inf, float) == -math.inf
    assert math.copysign(1, check(-0.0, float)) == -1


@examples()
@given(st.booleans())
def test_bools(value: bool) -> None:
    check(value, bool)


@examples()
@given(st.text())
def test_strings(value: str) -> None:
    check(value, str)


@examples()
@given(st.binary())
def test_bytes(value: bytes) -> None:
    check(value, bytes)


def test_none() -> None:
    check(None, type(None))
    check(None, None)


# ---- datetimes and durations --------------------------------------------------------------------


@examples(300)
@given(datetimes)
def test_datetimes_naive_and_aware_in_any_zone(value: dt.datetime) -> None:
    check(value, dt.datetime)


PARIS = zoneinfo.ZoneInfo("Europe/Paris")


@pytest.mark.parametrize("value", [
    dt.datetime(2024, 3, 31, 2, 30, tzinfo=PARIS),  # in the spring-forward gap
    dt.datetime(2024, 3, 31, 2, 30, fold=1, tzinfo=PARIS),
    dt.datetime(2024, 10, 27, 2, 30, tzinfo=PARIS),  # twice on that night: the first
    dt.datetime(2024, 10, 27, 2, 30, fold=1, tzinfo=PARIS),  # and the second time
    dt.datetime(2024, 1, 1, tzinfo=zoneinfo.ZoneInfo("UTC")),  # an IANA zone, not dt.UTC
    dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
    dt.datetime(2024, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=45))),
    dt.datetime(2024, 1, 1, tzinfo=dt.timezone(-dt.timedelta(hours=3, microseconds=7))),
    dt.datetime(1, 1, 1, 0, 0),
    dt.datetime(9999, 12, 31, 23, 59, 59, 999999),
    dt.datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=dt.UTC),
], ids=repr)
def test_datetimes_at_the_edges(value: dt.datetime) -> None:
    check(value, dt.datetime)


def test_the_two_times_of_an_ambiguous_hour_stay_apart() -> None:
    first = check(dt.datetime(2024, 10, 27, 2, 30, tzinfo=PARIS), dt.datetime)
    second = check(dt.datetime(2024, 10, 27, 2, 30, fold=1, tzinfo=PARIS), dt.datetime)
    assert (first.fold, second.fold) == (0, 1)
    assert second.astimezone(dt.UTC) - first.astimezone(dt.UTC) == dt.timedelta(hours=1)


@examples()
@given(timedeltas)
def test_timedeltas_negative_and_extreme(value: dt.timedelta) -> None:
    check(value, dt.timedelta)


# ---- enums --------------------------------------------------------------------------------------


@examples()
@given(st.sampled_from(list(Color)) | st.sampled_from(list(Level)))
def test_enum_members(value: Color | Level) -> None:
    check(value, type(value))


@examples()
@given(perms)
def test_flag_combinations_and_the_empty_flag(value: Perm) -> None:
    check(value, Perm)


def test_an_int_enum_in_a_union_with_int_stays_an_enum() -> None:
    check(Level.HIGH, int | Level)
    check(2, Level | int)


# ---- Optional and unions ------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "py_type"), [
    (3, int | float), (3.0, int | float), (3, float | int), (3.0, float | int),
    (True, int | bool), (1, bool | int), (None, Optional[int]), (4, Optional[int]),  # noqa: UP045
    (None, int | None), ("x", int | str | None), ([1], list[float] | list[int]),
    ([1.0], list[int] | list[float]), ([3], list[float | str] | list[int]),
    ({"a": 1}, dict[str, float] | dict[str, int]), (Point(1), Point | None),
], ids=repr)
def test_a_union_brings_back_the_variant_the_value_had(value: Any, py_type: Any) -> None:
    check(value, py_type)


@examples()
@given(st.one_of(ints, floats, st.none()))
def test_int_or_float_or_none(value: int | float | None) -> None:
    check(value, int | float | None)


# ---- lists and dicts ----------------------------------------------------------------------------


@examples()
@given(st.lists(st.lists(ints)))
def test_lists_of_lists(value: list[list[int]]) -> None:
    check(value, list[list[int]])


@examples()
@given(st.dictionaries(st.text(), st.dictionaries(st.text(), st.lists(floats))))
def test_nested_dicts(value: dict[str, dict[str, list[float]]]) -> None:
    check(value, dict[str, dict[str, list[float]]])


def test_empty_containers() -> None:
    check([], list[int])
    check({}, dict[str, int])
    check([[], [[]]], list[list[list[int]]])


# ---- records ------------------------------------------------------------------------------------


@pytest.mark.parametrize("record", [Point, Shape, Frozen, Pair, Item, Order], ids=lambda t: t.__name__)
@examples(50)
@given(data=st.data())
def test_records_with_nested_records_and_defaults(record: type, data: st.DataObject) -> None:
    check(data.draw(values_for(record)), record)


def test_an_int_inside_a_nested_dataclass_stays_an_int() -> None:
    back = check(Shape(Point(1, 2.0), [Point(3, 4.0)], weights={"w": 5.0}), Shape)
    assert type(back.origin.x) is int and type(back.origin.y) is float
    assert type(back.corners[0].y) is float and type(back.weights["w"]) is float


def test_defaults_and_fields_outside_init() -> None:
    back = check(Frozen(3), Frozen)
    assert back.computed == 7 and back.tags == []
    back = check(Shape(Point(0), []), Shape)
    assert back.label is None and back.color is Color.RED


def test_pydantic_models_with_aliases_nested_dataclasses_and_named_tuples() -> None:
    by_alias: dict[str, Any] = {"order-id": 9}  # no Python name: pydantic takes it as a keyword
    order = Order(**by_alias, items=[Item(name="a", qty=2, unit=2.5)],
                  shape=Shape(Point(1), [], when=dt.datetime(2024, 3, 31, 2, 30, fold=1, tzinfo=PARIS)),
                  pair=Pair(1, "r"), level=Level.HIGH)
    back = check(order, Order)
    assert back == order


def test_named_tuples_come_back_as_the_named_tuple() -> None:
    back = check(Pair(1, "x"), Pair)
    assert back.right == "x" and type(back.left) is int
    check(Pair(2), Pair)


# ---- anything nested in anything ----------------------------------------------------------------


@examples(300)
@given(typed_values())
def test_any_nesting_of_supported_types(typed: tuple[Any, Any]) -> None:
    py_type, value = typed
    check(value, py_type)
