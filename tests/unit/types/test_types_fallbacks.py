"""Values Flyte users pass without a precise type (issue #22, items 10-11): bare list and dict and
Any as JSON-like literals where they are; dicts with keys other than str as typed key/value
records; any other object pickled, with a one-time warning; numpy arrays as .npy blobs."""

from __future__ import annotations

import dataclasses
import datetime as dt
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from tests.unit.types.exactness import assert_exact, round_trip
from wingspan.core.compiler.typecheck import assignable
from wingspan.core.errors import TypeTransformerError
from wingspan.core.model.literals import SimpleType
from wingspan.core.storage.local import LocalBlobStore
from wingspan.core.types import TransferContext, default_engine
from wingspan.core.types.naturals import to_natural
from wingspan.core.types.pickled import PickledTypeWarning


@pytest.fixture
def ctx(tmp_path: Path) -> TransferContext:
    store = LocalBlobStore(tmp_path / "blobs")
    return TransferContext(store=store, prefix=store.uri("data"), download_dir=tmp_path / "downloads")


def kinds(literal: Any) -> Any:
    """The literal's kinds, nested as the value is."""
    match literal.kind:
        case "collection":
            return [kinds(item) for item in literal.value.literals]
        case "map":
            return {key: kinds(item) for key, item in literal.value.literals.items()}
    return literal.kind


def no_warning() -> warnings.catch_warnings[None]:
    """A block in which any warning fails the test (for a type already warned about)."""
    caught = warnings.catch_warnings()
    caught.__enter__()
    warnings.simplefilter("error")
    return caught


# ---- bare list and dict, and Any: JSON-like where they are ------------------------------------

JSON_LIKE = {"n": 1, "x": 2.5, "s": "é", "ok": True, "none": None, "list": [1, [2.0, "3"]],
             "when": dt.datetime(2026, 1, 2, 3, 4, tzinfo=dt.UTC), "raw": b"\x00", "big": 2**70}


@pytest.mark.parametrize("py_type", [dict, dict[str, Any], dict[Any, Any], Any, object])
async def test_json_like_values_of_untyped_dicts_round_trip_exactly_as_plain_literals(py_type: Any) -> None:
    back, literal = await round_trip(JSON_LIKE, py_type)
    assert_exact(back, JSON_LIKE)
    assert kinds(literal) == {"n": "integer", "x": "float", "s": "string", "ok": "boolean", "none": "none",
                              "list": ["integer", ["float", "string"]], "when": "datetime",
                              "raw": "binary", "big": "big_integer"}
    assert to_natural(literal) == JSON_LIKE  # what a client without the code reads


@pytest.mark.parametrize("py_type", [list, list[Any], Any])
async def test_json_like_values_of_untyped_lists_round_trip_exactly(py_type: Any) -> None:
    value = [1, "a", [True, None], {"k": [0.5]}]
    back, literal = await round_trip(value, py_type)
    assert_exact(back, value)
    assert kinds(literal) == ["integer", "string", ["boolean", "none"], {"k": ["float"]}]


class Opaque:
    def __init__(self, n: int) -> None:
        self.n = n

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.n == self.n

    __hash__ = None  # type: ignore[assignment]


async def test_what_is_not_json_like_inside_an_untyped_value_is_pickled_where_it_stands() -> None:
    value = {"pair": (1, 2), "tags": {"a"}, "obj": Opaque(3), "n": 4}
    with pytest.warns(PickledTypeWarning) as warned:
        back, literal = await round_trip(value, dict)
    assert_exact(back, value)
    assert kinds(literal) == {"pair": "opaque", "tags": "opaque", "obj": "opaque", "n": "integer"}
    messages = [str(w.message) for w in warned]
    assert any("values of type builtins.tuple (in a value typed Any, list or dict) pass between tasks "
               "pickled" in m for m in messages), messages
    assert all("default_engine().register(MyTransformer())" in m for m in messages)


async def test_an_untyped_dict_with_keys_other_than_str_is_pickled_whole() -> None:
    value: dict[Any, Any] = {1: "a", (2, 3): ["b"]}
    with pytest.warns(PickledTypeWarning, match=r"values of type dict with keys other than str"):
        back, literal = await round_trip(value, dict)
    assert literal.kind == "opaque"
    assert_exact(back, value)


# ---- dicts with keys other than str: typed key/value records -----------------------------------


@dataclasses.dataclass
class Point:
    x: int
    y: int


@pytest.mark.parametrize(("value", "py_type"), [
    ({1: "a", -2: "b"}, dict[int, str]),
    ({1.5: [Point(1, 2)], 2.0: []}, dict[float, list[Point]]),
    ({dt.date.min.isoformat(): 1}, dict[str, int]),
    ({True: {"x": 1}, False: {}}, dict[bool, dict[str, int]]),
    ({}, dict[int, int]),
])
async def test_dicts_with_typed_keys_round_trip_exactly(value: Any, py_type: Any) -> None:
    back, _ = await round_trip(value, py_type)
    assert_exact(back, value)


async def test_a_dict_with_int_keys_is_a_list_of_key_value_records_read_back_as_a_dict() -> None:
    literal = await default_engine().to_literal({1: "a", 2: "b"}, dict[int, str])
    assert literal.kind == "collection"
    assert [[f.name for f in item.value.fields] for item in literal.value.literals] == [["key", "value"]] * 2
    assert to_natural(literal) == {1: "a", 2: "b"}
    lt = default_engine().literal_type(dict[int, str])
    assert str(lt) == "dict[int, str]"
    assert not assignable(lt, default_engine().literal_type(dict[int, float]))[0]
    assert not assignable(lt, default_engine().literal_type(dict[str, str]))[0]
    assert not assignable(lt, default_engine().literal_type(list))[0]  # a dict is no list


async def test_a_key_or_value_of_the_wrong_type_is_named() -> None:
    with pytest.raises(TypeTransformerError, match=r"^\"counts\[key 'a'\]\": expected int, got str 'a'"):
        await default_engine().to_literal({"a": 1}, dict[int, int], name="counts")
    with pytest.raises(TypeTransformerError, match=r"^'counts\[3\]': expected int, got str 'x'"):
        await default_engine().to_literal({3: "x"}, dict[int, int], name="counts")


# ---- any other type: pickled, with a warning once per type ------------------------------------


def test_a_type_no_transformer_serves_is_pickled_with_a_warning_once() -> None:
    class Model:
        pass

    with pytest.warns(PickledTypeWarning) as warned:
        lt = default_engine().literal_type(list[Model], where="task 'fit', parameter 'model'")
    (message,) = [str(w.message) for w in warned]
    assert warned[0].filename == __file__  # the line that asked, not the type engine's
    assert message.startswith(f"task 'fit', parameter 'model': values of type {Model.__module__}."
                              f"{Model.__qualname__} pass between tasks pickled")
    assert "register a transformer for it: wingspan.core.types.default_engine().register(" in message
    assert "wingspan_type_transformers" in message
    assert (lt.value.kind, lt.value.value) == ("simple", SimpleType.OPAQUE)
    caught = no_warning()
    try:
        default_engine().literal_type(dict[str, Model])
        default_engine().literal_type(Model | None)
    finally:
        caught.__exit__(None, None, None)


async def test_pickled_values_round_trip_and_keep_their_class() -> None:
    with pytest.warns(PickledTypeWarning):
        default_engine().literal_type(Opaque)
    value = [Opaque(1), Opaque(2)]
    back, literal = await round_trip(value, list[Opaque])
    assert back == value and [type(v) for v in back] == [Opaque, Opaque]
    assert kinds(literal) == ["opaque", "opaque"]
    with pytest.warns(PickledTypeWarning, match=r"values of type set\[tuple\[int, int\]\] pass"):
        default_engine().literal_type(set[tuple[int, int]])
    back, _ = await round_trip({(1, 2), (3, 4)}, set[tuple[int, int]])
    assert back == {(1, 2), (3, 4)}


async def test_a_pickled_type_still_checks_what_it_is_given() -> None:
    with pytest.raises(TypeTransformerError, match=r"^'m': expected Opaque, got int 3"):
        await default_engine().to_literal(3, Opaque, name="m")
    pickled_int = await default_engine().to_literal(3, Any)
    with pytest.raises(TypeTransformerError, match=r"^'m': expected Opaque, got a literal of kind 'integer'"):
        await default_engine().to_python(pickled_int, Opaque, name="m")


async def test_a_value_that_cannot_be_pickled_names_its_type_and_the_fix() -> None:
    value = Opaque(1)
    value.n = (lambda: 1)  # type: ignore[assignment]
    with pytest.raises(TypeTransformerError, match=r"^'m': expected a value that can be pickled, got Opaque.*"
                                                   r"register a transformer for Opaque"):
        await default_engine().to_literal(value, Opaque, name="m")


def test_any_takes_plain_data_and_typed_lists_flow_into_untyped_ones() -> None:
    from wingspan.core.types.files import File

    engine = default_engine()
    for source in (int, list[int], dict[str, float | None], Opaque, list):
        assert assignable(engine.literal_type(source), engine.literal_type(Any)) == (True, "")
    # what would read back differently in another process (a dict for a record, text for a
    # File or an enum) stays refused, as the compiler says
    for refused in (Point, list[Point], File, dict[int, str]):
        assert not assignable(engine.literal_type(refused), engine.literal_type(Any))[0]
    assert assignable(engine.literal_type(list[int]), engine.literal_type(list)) == (True, "")
    assert assignable(engine.literal_type(dict[str, int]), engine.literal_type(dict)) == (True, "")
    assert not assignable(engine.literal_type(Any), engine.literal_type(int))[0]
    # a union's variant tag is never dropped inside a list
    assert not assignable(engine.literal_type(list[int]), engine.literal_type(list[int | None]))[0]


# ---- numpy arrays: .npy blobs, never pickles -------------------------------------------------------


@pytest.mark.parametrize("array", [
    np.arange(12, dtype=np.int64).reshape(3, 4),
    np.array([1.5, np.nan, -0.0], dtype=np.float32),
    np.array(["a", "bé"]),
    np.zeros((0, 3), dtype=np.complex128),
    np.array([(1, 2.0)], dtype=[("a", "i4"), ("b", "f8")]),
], ids=["int64", "float32", "unicode", "empty-complex", "records"])
@pytest.mark.parametrize("py_type", [np.ndarray, npt.NDArray[Any]], ids=["ndarray", "NDArray"])
async def test_numpy_arrays_are_npy_blobs_with_dtype_and_shape_kept(
        array: Any, py_type: Any, ctx: TransferContext) -> None:
    back, literal = await round_trip(array, py_type, ctx)
    assert literal.kind == "blob" and literal.value.type.format == "npy"
    assert literal.value.uri == ctx.uploaded[0] and literal.value.uri.endswith("/array.npy")
    assert type(back) is np.ndarray and back.dtype == array.dtype and back.shape == array.shape
    np.testing.assert_array_equal(back, array)
    assert default_engine().literal_type(py_type) == default_engine().literal_type(np.ndarray)


async def test_an_array_of_python_objects_is_refused_with_what_to_do(ctx: TransferContext) -> None:
    with pytest.raises(TypeTransformerError, match=r"^'a': expected an array of numbers, text or records, "
                                                   r"got ndarray .*dtype object.*give it a numeric dtype"):
        await default_engine().to_literal(np.array([Opaque(1)], dtype=object), np.ndarray, ctx, name="a")


def test_an_array_is_no_file() -> None:
    from wingspan.core.types.files import File

    engine = default_engine()
    assert not assignable(engine.literal_type(np.ndarray), engine.literal_type(File))[0]
    assert not assignable(engine.literal_type(File), engine.literal_type(np.ndarray))[0]


# ---- from the command line ----------------------------------------------------------------------


@pytest.mark.parametrize(("text", "py_type", "expected"), [
    ('[1, "a", {"b": null}]', list, [1, "a", {"b": None}]),
    ('{"k": [1.5]}', dict, {"k": [1.5]}),
    ('{"k": [1.5]}', Any, {"k": [1.5]}),
    ("3", Any, 3),
    ('{"1": "a", "-2": "b"}', dict[int, str], {1: "a", -2: "b"}),
    ('{"1.5": [1]}', dict[float, list[int]], {1.5: [1]}),
])
def test_untyped_values_and_typed_keys_from_the_command_line(text: str, py_type: Any, expected: Any) -> None:
    from wingspan.core.types.text import parse_value

    assert_exact(parse_value(text, py_type, "x"), expected)


def test_arrays_from_the_command_line_as_json_or_an_npy_file(tmp_path: Path) -> None:
    from wingspan.core.types.text import display, parse_value

    array = parse_value("[[1, 2], [3, 4]]", np.ndarray, "a")
    np.testing.assert_array_equal(array, np.array([[1, 2], [3, 4]]))
    np.save(tmp_path / "a.npy", np.arange(3.0))
    np.testing.assert_array_equal(parse_value(str(tmp_path / "a.npy"), npt.NDArray[np.float64], "a"),
                                  np.arange(3.0))
    assert display(array) == [[1, 2], [3, 4]]
    with pytest.raises(ValueError, match=r"--counts: cannot read .* as dict\[int, str\]: invalid literal"):
        parse_value('{"one": "a"}', dict[int, str], "counts")


# ---- iterators: their items ---------------------------------------------------------------------


class Token(Opaque):
    """A plain class of its own, first met in an iterator's items."""


async def test_an_iterator_passes_as_its_items_each_by_its_type() -> None:
    from collections.abc import Generator, Iterable, Iterator

    from wingspan.core.types.iterators import Items

    for py_type in (Iterator[int], Iterable[int], Generator[int, None, None]):
        back, literal = await round_trip((i * i for i in range(3)), py_type)
        assert type(back) is Items and list(back) == [0, 1, 4]
        assert kinds(literal) == ["integer"] * 3
    with pytest.warns(PickledTypeWarning, match="Token pass between tasks pickled"):
        default_engine().literal_type(Iterator[Point | Token])
    back, literal = await round_trip(iter([Point(1, 2), Token(3)]), Iterator[Point | Token])
    assert list(back) == [Point(1, 2), Token(3)]
    items = Items([1, 2, 3])
    assert next(items) == 1 and list(items) == [2, 3] and list(items.fresh()) == [1, 2, 3]
    with pytest.raises(TypeTransformerError, match=r"^'v\[1\]': expected int, got str 'a'"):
        await default_engine().to_literal(iter([1, "a"]), Iterator[int], name="v")


def test_a_records_bad_field_from_the_command_line_is_named() -> None:
    from tests.unit.types.samples import Shape
    from wingspan.core.types.text import parse_value

    with pytest.raises(ValueError, match=r"--shape: cannot read .* as Shape: field 'origin': field 'x': "
                                         r"expected int, got str"):
        parse_value('{"origin": {"x": "s"}, "corners": []}', Shape, "shape")


class _Refused(ValueError):
    def __init__(self, what: str, why: str) -> None:
        super().__init__(f"{what} {why}")


@dataclasses.dataclass
class _Positive:
    n: int

    def __post_init__(self) -> None:
        if self.n < 0:
            raise _Refused("n", "must be >= 0")


@dataclasses.dataclass
class _Holder:
    inner: _Positive


def test_a_records_own_error_in_a_field_from_the_command_line_keeps_its_message() -> None:
    from wingspan.core.types.text import parse_value

    with pytest.raises(ValueError, match=r"as _Holder: field 'inner': n must be >= 0$"):
        parse_value('{"inner": {"n": -1}}', _Holder, "holder")
