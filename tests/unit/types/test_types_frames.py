"""pandas DataFrames, pyarrow Tables and the lazy DataFrame travel as Parquet and come back equal."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Any

import anyio
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import pandas as hpd

from tests.unit.types.exactness import assert_exact, assert_same_frame, round_trip
from tests.unit.types.samples import examples
from wingspan.core.model.literals import SimpleType
from wingspan.core.storage.local import LocalBlobStore
from wingspan.core.types import TransferContext
from wingspan.core.types.frames import DataFrame


def context(folder: Path) -> TransferContext:
    store = LocalBlobStore(folder / "blobs")
    return TransferContext(store=store, prefix=store.uri("data"))


def trip(value: Any, py_type: Any) -> tuple[Any, Any, TransferContext]:
    with tempfile.TemporaryDirectory(prefix="types-frames-") as folder:
        ctx = context(Path(folder))
        back, literal = anyio.run(round_trip, value, py_type, ctx)
        if isinstance(back, DataFrame):
            back.to_arrow()  # load it while the store is there
        return back, literal, ctx


column_names = st.text(min_size=1, max_size=8)
frames = hpd.data_frames(
    columns=[
        hpd.column("i", dtype="int64"),
        hpd.column("f", dtype="float64"),  # nan and inf included
        hpd.column("b", dtype=bool),
        hpd.column("s", elements=st.text(max_size=10), dtype=str),
        hpd.column("t", elements=st.datetimes(min_value=dt.datetime(1700, 1, 1),
                                              max_value=dt.datetime(2200, 1, 1)),
                   dtype="datetime64[us]"),
    ],
    index=hpd.range_indexes() | hpd.indexes(dtype="int64", unique=True),
)

arrow_columns: dict[str, tuple[pa.DataType, st.SearchStrategy[Any]]] = {
    "int": (pa.int64(), st.integers(-(2**63), 2**63 - 1)),
    "small": (pa.int8(), st.integers(-128, 127)),
    "float": (pa.float64(), st.floats()),
    "text": (pa.string(), st.text()),
    "big_text": (pa.large_string(), st.text(max_size=5)),
    "blob": (pa.binary(), st.binary()),
    "flag": (pa.bool_(), st.booleans()),
    "when": (pa.timestamp("us", tz="UTC"),
             st.datetimes(min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30),
                          timezones=st.just(dt.UTC))),
    "day": (pa.date32(), st.dates()),
    "ints": (pa.list_(pa.int32()), st.lists(st.integers(-(2**31), 2**31 - 1), max_size=3)),
}


@st.composite
def tables(draw: st.DrawFn) -> pa.Table:
    names = draw(st.lists(st.sampled_from(sorted(arrow_columns)), min_size=1, max_size=5, unique=True))
    rows = draw(st.integers(0, 8))
    arrays = []
    for name in names:
        arrow_type, values = arrow_columns[name]
        cells = draw(st.lists(st.none() | values, min_size=rows, max_size=rows))  # nulls too
        arrays.append(pa.array(cells, type=arrow_type))
    return pa.table(arrays, names=names)


@examples(40)
@given(frames)
def test_pandas_frames(df: pd.DataFrame) -> None:
    back, literal, _ = trip(df, pd.DataFrame)
    assert_exact(back, df)
    assert literal.kind == "structured_dataset" and literal.value.type.format == "parquet"


@examples(40)
@given(tables())
def test_arrow_tables_with_nulls_nested_lists_and_timestamps(table: pa.Table) -> None:
    back, _, _ = trip(table, pa.Table)
    assert_exact(back, table)


@examples(20)
@given(frames)
def test_the_lazy_data_frame_of_a_pandas_frame(df: pd.DataFrame) -> None:
    back, literal, _ = trip(DataFrame(df), DataFrame)
    assert type(back) is DataFrame and back.uri == literal.value.uri
    assert_same_frame(back.to_pandas(), df)


@examples(20)
@given(tables())
def test_the_lazy_data_frame_of_an_arrow_table(table: pa.Table) -> None:
    back, _, _ = trip(DataFrame(table), DataFrame)
    assert_same_frame(back.to_arrow(), table)


def test_a_stored_lazy_frame_passes_by_reference_unread(tmp_path: Path) -> None:
    ctx = context(tmp_path)
    df = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    first, _ = anyio.run(round_trip, DataFrame(df), DataFrame, ctx)
    ctx.uploaded.clear()
    again, literal = anyio.run(round_trip, first, DataFrame, ctx)
    assert ctx.uploaded == [] and again.uri == first.uri == literal.value.uri
    assert again._data is None  # nothing was read
    assert_same_frame(again.to_pandas(), df)


def test_columns_are_described_in_the_literal(tmp_path: Path) -> None:
    df = pd.DataFrame({"n": [1], "x": [1.5], "s": ["a"], "ok": [True]})
    _, literal = anyio.run(round_trip, df, pd.DataFrame, context(tmp_path))
    kinds = {c.name: c.type.value for c in literal.value.type.columns}
    assert kinds == {"n": SimpleType.INTEGER, "x": SimpleType.FLOAT, "s": SimpleType.STRING,
                     "ok": SimpleType.BOOLEAN}


@pytest.mark.parametrize("df", [
    pd.DataFrame(),
    pd.DataFrame({"a": pd.Series([], dtype="int64")}),
    pd.DataFrame({"a": [1, 2]}, index=pd.Index(["x", "y"], name="key")),
    pd.DataFrame({"c": pd.Categorical(["u", "v", "u"])}),
    pd.DataFrame({"t": pd.to_datetime(["2024-03-31 02:30"]).tz_localize("UTC").tz_convert("Europe/Paris")}),
], ids=["empty", "empty-int", "named-index", "categorical", "aware-times"])
def test_pandas_edge_frames(df: pd.DataFrame) -> None:
    back, _, _ = trip(df, pd.DataFrame)
    assert_exact(back, df)


def test_flytekit_spelling_dataframe_keyword_wraps_the_frame() -> None:
    df = pd.DataFrame({"a": [1, 2, 3]})
    back, _, _ = trip(DataFrame(dataframe=df), DataFrame)
    assert_same_frame(back.to_pandas(), df)


def test_data_given_twice_is_refused() -> None:
    df = pd.DataFrame({"a": [1]})
    with pytest.raises(ValueError, match="once"):
        DataFrame(df, dataframe=df)
