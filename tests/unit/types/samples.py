"""Annotations and values to convert: sample records and enums, and hypothesis strategies.

``annotation_types()`` draws annotations (scalars, enums, records, and lists, dicts and
unions of them, nested); ``values_for(tp)`` draws values of one annotation. The
classes live at module level so their field annotations resolve by name.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import types
import typing
from typing import Any, NamedTuple, Optional

import pydantic
from hypothesis import settings
from hypothesis import strategies as st

from wingspan.core.types.records import record_fields


class Color(enum.Enum):
    RED = "r"
    GREEN = "g"
    BLUE = "b"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Perm(enum.Flag):
    READ = 1
    WRITE = 2
    EXEC = 4


@dataclasses.dataclass
class Point:
    x: int
    y: float = 0.0


@dataclasses.dataclass
class Shape:
    origin: Point
    corners: list[Point]
    label: Optional[str] = None  # noqa: UP045 - the typing spelling is supported too
    weights: dict[str, float] = dataclasses.field(default_factory=dict)
    color: Color = Color.RED
    when: dt.datetime | None = None


@dataclasses.dataclass(frozen=True)
class Frozen:
    n: int
    tags: list[str] = dataclasses.field(default_factory=list)
    computed: int = dataclasses.field(init=False, default=7)


class Pair(NamedTuple):
    left: int
    right: float | str = 0.5


class Item(pydantic.BaseModel):
    name: str
    qty: int
    price: float = 1.0
    unit: int | float = 1
    at: dt.datetime | None = None
    perm: Perm = Perm.READ


class Order(pydantic.BaseModel):
    id: int = pydantic.Field(alias="order-id")
    items: list[Item]
    shape: Shape | None = None
    pair: Pair | None = None
    due: dt.timedelta = dt.timedelta(days=1)
    level: Level = Level.LOW


RECORDS: tuple[type, ...] = (Point, Shape, Frozen, Pair, Item, Order)
ENUMS: tuple[type[enum.Enum], ...] = (Color, Level, Perm)
SCALARS: tuple[Any, ...] = (int, float, bool, str, bytes, dt.datetime, dt.timedelta, type(None))

def examples(n: int = 100) -> settings:
    """Hypothesis settings for conversions: no deadline (the first one imports the IDL code)."""
    return settings(max_examples=n, deadline=None)


# ---- scalar values ----------------------------------------------------------------------------

INT64 = 2**63
ints = st.one_of(
    st.integers(min_value=-(2**31), max_value=2**31),
    st.integers(min_value=INT64 - 3, max_value=INT64 + 3),  # the int64 / big integer border
    st.integers(min_value=-INT64 - 3, max_value=-INT64 + 3),
    st.integers(),
    st.integers(min_value=2**64, max_value=2**300) | st.integers(min_value=-(2**300), max_value=-(2**64)),
)
floats = st.floats()  # nan, +-inf, -0.0 and subnormals included

fixed_offsets = st.builds(dt.timezone, st.timedeltas(min_value=dt.timedelta(hours=-23, minutes=-59),
                                                     max_value=dt.timedelta(hours=23, minutes=59)))
zones: st.SearchStrategy[dt.tzinfo | None] = st.none() | st.timezones() | st.just(dt.UTC) | fixed_offsets
# a day away from year 1 and 9999: an offset may move the UTC instant by up to a day. Naive and
# aware mixed runs with bounds too; hypothesis's overloads allow the mix only without bounds.
datetimes = st.datetimes(min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30),
                         timezones=zones)  # type: ignore[arg-type]
timedeltas = st.timedeltas()  # negative, zero, and the extremes of the range
perms = st.sets(st.sampled_from(list(Perm))).map(lambda s: Perm(sum(m.value for m in s)))

_SCALAR_VALUES: dict[Any, st.SearchStrategy[Any]] = {
    int: ints,
    float: floats,
    bool: st.booleans(),
    str: st.text(),
    bytes: st.binary(),
    dt.datetime: datetimes,
    dt.timedelta: timedeltas,
    type(None): st.none(),
    Perm: perms,
}


def values_for(tp: Any) -> st.SearchStrategy[Any]:
    """Values of the annotation ``tp`` (every kind ``annotation_types()`` draws)."""
    if tp is None:
        return st.none()
    if tp in _SCALAR_VALUES:
        return _SCALAR_VALUES[tp]
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return st.sampled_from(list(tp))
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is list:
        return st.lists(values_for(args[0]), max_size=4)
    if origin is dict:
        return st.dictionaries(st.text(max_size=6), values_for(args[1]), max_size=4)
    if origin in (typing.Union, types.UnionType):
        return st.one_of(*(values_for(a) for a in args))
    if isinstance(tp, type) and tp in RECORDS:
        return _records(tp)
    raise AssertionError(f"no strategy for {tp!r}")


def _records(tp: type) -> st.SearchStrategy[Any]:
    init = {f.name for f in dataclasses.fields(tp) if f.init} if dataclasses.is_dataclass(tp) else None
    keyword = {name: info.alias or name for name, info in tp.model_fields.items()} \
        if issubclass(tp, pydantic.BaseModel) else {}

    @st.composite
    def build(draw: st.DrawFn) -> Any:
        kwargs = {}
        for name, annotation, has_default in record_fields(tp):
            if init is not None and name not in init:
                continue
            if has_default and draw(st.booleans()):
                continue  # leave it to its default
            kwargs[keyword.get(name, name)] = draw(values_for(annotation))
        return tp(**kwargs)

    return build()


def annotation_types(max_leaves: int = 5) -> st.SearchStrategy[Any]:
    """Annotations: scalars, enums and records, nested in lists, dicts, Optional and unions."""
    leaves = st.sampled_from([*SCALARS, *ENUMS, *RECORDS])

    def extend(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        return st.one_of(
            inner.map(lambda t: list[t]),  # type: ignore[valid-type]
            inner.map(lambda t: dict[str, t]),  # type: ignore[valid-type]
            inner.map(lambda t: Optional[t]),  # noqa: UP045 - the typing spelling is tested too
            st.lists(inner, min_size=2, max_size=3).map(lambda ts: typing.Union[tuple(ts)]),  # noqa: UP007
        )

    return st.recursive(leaves, extend, max_leaves=max_leaves)


def typed_values(max_leaves: int = 5) -> st.SearchStrategy[tuple[Any, Any]]:
    """(annotation, value of it) pairs."""
    return annotation_types(max_leaves).flatmap(lambda tp: st.tuples(st.just(tp), values_for(tp)))
