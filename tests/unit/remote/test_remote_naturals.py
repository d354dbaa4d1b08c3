"""Plain values by literal type: what a client that names an entity sends and receives."""

from __future__ import annotations

import dataclasses
import enum
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wingspan.core.errors import TypeTransformerError
from wingspan.core.types import default_engine
from wingspan.core.types.naturals import from_natural, to_natural
from wingspan.core.types.purity import to_literal_now


class Color(enum.Enum):
    RED = 1
    BLUE = 2


@dataclasses.dataclass
class Point:
    x: int
    label: str = ""
    tags: list[str] = dataclasses.field(default_factory=list)


CASES: list[tuple[Any, st.SearchStrategy[Any]]] = [
    (int, st.integers()),
    (float, st.floats(allow_nan=False)),
    (str, st.text()),
    (bool, st.booleans()),
    (list[int], st.lists(st.integers(), max_size=5)),
    (dict[str, list[float]], st.dictionaries(st.text(max_size=5), st.lists(st.floats(allow_nan=False),
                                                                            max_size=3), max_size=3)),
    (int | None, st.none() | st.integers()),
    (Color, st.sampled_from(list(Color))),
    (Point, st.builds(Point, st.integers(), st.text(max_size=5), st.lists(st.text(max_size=3), max_size=3))),
]


@pytest.mark.parametrize(("py_type", "values"), CASES, ids=[str(c[0]) for c in CASES])
@given(data=st.data())
def test_plain_values_give_the_literals_typed_values_give(py_type: Any, values: Any, data: Any) -> None:
    value = data.draw(values)
    typed = to_literal_now(value, py_type)
    lt = default_engine().literal_type(py_type)
    plain = to_natural(typed)
    assert from_natural(plain, lt) == typed
    if isinstance(value, float) and math.isnan(value):
        return
    if isinstance(value, Color):
        assert plain == value.name
    elif isinstance(value, Point):
        assert plain == dataclasses.asdict(value)
    else:
        assert plain == value


def test_mismatches_name_the_input_and_both_types() -> None:
    lt = default_engine().literal_type(list[int])
    with pytest.raises(TypeTransformerError, match=r"'xs\[1\]': expected int, got str 'a'"):
        from_natural([1, "a"], lt, "xs")
    with pytest.raises(TypeTransformerError, match="is not one of"):
        from_natural("GREEN", default_engine().literal_type(Color), "c")
    with pytest.raises(TypeTransformerError, match=r"has no fields \['z'\]"):
        from_natural({"x": 1, "z": 2}, default_engine().literal_type(Point), "p")
    with pytest.raises(TypeTransformerError, match="expected int, got bool"):
        from_natural(True, default_engine().literal_type(int), "n")
