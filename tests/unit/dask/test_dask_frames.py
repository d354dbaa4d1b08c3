"""A Dask DataFrame crosses tasks as Parquet parts that the cluster's workers write and read."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import anyio
import dask.dataframe as dd
import pandas as pd
import pyarrow as pa
import pytest
from distributed import get_task_stream
from wingspan_dask._frames import DaskFrameTransformer

from wingspan.core.errors import TypeTransformerError
from wingspan.core.model.literals import Literal
from wingspan.core.storage.local import LocalBlobStore
from wingspan.core.types import TransferContext, TypeEngine, default_engine
from wingspan.core.types.frames import DataFrame

FRAME = pd.DataFrame({"n": list(range(10)), "word": [f"w{i}" for i in range(10)]})


@pytest.fixture
def engine() -> TypeEngine:
    engine = TypeEngine(list(default_engine().transformers), fallback=None)
    engine.register(DaskFrameTransformer(), first=True)
    return engine


@pytest.fixture
def ctx(tmp_path: Path) -> TransferContext:
    store = LocalBlobStore(tmp_path / "blobs")
    return TransferContext(store=store, prefix=store.uri("data"))


def to_literal(engine: TypeEngine, value: Any, py_type: Any, ctx: TransferContext) -> Literal:
    async def convert() -> Literal:
        return await engine.to_literal(value, py_type, ctx, name="frame")

    return anyio.run(convert)


def to_python(engine: TypeEngine, literal: Literal, py_type: Any, ctx: TransferContext) -> Any:
    async def convert() -> Any:
        return await engine.to_python(literal, py_type, ctx, name="frame")

    return anyio.run(convert)


def test_the_workers_write_one_part_per_partition(dask_client: Any, engine: TypeEngine,
                                                  ctx: TransferContext, tmp_path: Path) -> None:
    frame = dd.from_pandas(FRAME, npartitions=3)
    with get_task_stream(dask_client) as stream:
        literal = to_literal(engine, frame, dd.DataFrame, ctx)
    writers = {task["worker"] for task in stream.data if "write_part" in str(task["key"])}
    assert writers and writers <= set(dask_client.scheduler_info()["workers"])
    assert literal.value.uri.endswith("/frame/")
    folder = Path(literal.value.uri.removeprefix("file://"))
    assert sorted(p.name for p in folder.iterdir()) == [
        "_schema.parquet", "part.000000.parquet", "part.000001.parquet", "part.000002.parquet"]
    assert [c.name for c in literal.value.type.columns] == ["n", "word"]


def test_a_dask_frame_arrives_as_dask_pandas_arrow_or_lazy(dask_client: Any, engine: TypeEngine,
                                                          ctx: TransferContext) -> None:
    literal = to_literal(engine, dd.from_pandas(FRAME, npartitions=3), dd.DataFrame, ctx)
    back = to_python(engine, literal, dd.DataFrame, ctx)
    assert isinstance(back, dd.DataFrame) and back.npartitions == 3
    # Dask stores text as arrow-backed strings; each reader gets the frame Dask computes
    computed = dd.from_pandas(FRAME, npartitions=3).compute()
    pd.testing.assert_frame_equal(back.compute(), computed)
    pd.testing.assert_frame_equal(to_python(engine, literal, pd.DataFrame, ctx), computed)
    assert to_python(engine, literal, pa.Table, ctx).equals(pa.Table.from_pandas(computed))
    lazy = to_python(engine, literal, DataFrame, ctx)
    pd.testing.assert_frame_equal(anyio.run(lazy.to_arrow_async).to_pandas(), computed)


def test_declared_columns_are_cut_and_checked(dask_client: Any, engine: TypeEngine,
                                             ctx: TransferContext) -> None:
    literal = to_literal(engine, dd.from_pandas(FRAME, npartitions=2), dd.DataFrame, ctx)
    only_n = to_python(engine, literal, Annotated[dd.DataFrame, {"n": int}], ctx)
    assert list(only_n.compute().columns) == ["n"]
    with pytest.raises(TypeTransformerError, match=r"missing column\(s\) \['size'\]"):
        to_python(engine, literal, Annotated[dd.DataFrame, {"size": int}], ctx)


def test_a_missing_declared_column_writes_nothing(dask_client: Any, engine: TypeEngine,
                                                  ctx: TransferContext, tmp_path: Path) -> None:
    with pytest.raises(TypeTransformerError, match=r"missing column\(s\) \['size'\]"):
        to_literal(engine, dd.from_pandas(FRAME, npartitions=2), Annotated[dd.DataFrame, {"size": int}], ctx)
    assert not (tmp_path / "blobs").exists() or not any((tmp_path / "blobs").rglob("*.parquet"))


def test_a_pandas_frame_arrives_as_a_dask_frame(dask_client: Any, engine: TypeEngine,
                                                ctx: TransferContext) -> None:
    literal = to_literal(engine, FRAME, pd.DataFrame, ctx)
    back = to_python(engine, literal, dd.DataFrame, ctx)
    assert isinstance(back, dd.DataFrame)
    pd.testing.assert_frame_equal(back.compute(), FRAME)
