"""Data frames: pandas DataFrames, pyarrow Tables and the lazy ``DataFrame``, as Parquet.

pandas and pyarrow are imported only when a frame is converted: ``import wingspan``
must stay fast for users who never touch them, and they are an extra
(``wingspan[dataframe]``), so a missing one is named with the extra to install.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from wingspan.core.errors import MissingExtraError
from wingspan.core.model.literals import (
    Literal,
    LiteralType,
    SimpleType,
    StructuredDataset,
    StructuredDatasetColumn,
    StructuredDatasetType,
)
from wingspan.core.types.engine import TypeEngine, mismatch_from_literal, type_repr
from wingspan.core.types.transformer import TransferContext, TypeTransformer, ValueMismatch

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from wingspan.core.storage.interface import BlobStore

__all__ = ["FRAME_TRANSFORMERS", "DataFrame"]

PARQUET = "parquet"


def _require_arrow() -> None:
    try:
        import pyarrow.parquet  # noqa: F401
    except ImportError as exc:
        raise MissingExtraError("a data frame", "dataframe", "pyarrow") from exc


def _require_pandas() -> None:
    try:
        import pandas  # noqa: F401
    except ImportError as exc:
        raise MissingExtraError("a pandas data frame", "dataframe", "pandas") from exc


class DataFrame:
    """A data frame that is loaded only when asked: ``df.to_pandas()`` or ``df.to_arrow()``.

    Wrap a pandas DataFrame or a pyarrow Table to return one from a task; receive one
    to decide in the task whether (and how) to load the data.
    """

    def __init__(self, data: pd.DataFrame | pa.Table | None = None, *, uri: str | None = None,
                 format: str = PARQUET, _store: BlobStore | None = None) -> None:
        if data is None and uri is None:
            raise ValueError("DataFrame needs data (a pandas DataFrame or pyarrow Table) or a uri")
        self._data = data
        self.uri = uri
        self.format = format
        self._store = _store

    def to_arrow(self) -> pa.Table:
        _require_arrow()
        import pyarrow as pa

        if self._data is None:
            from wingspan.core.types.blocking import run_io

            self._data = run_io(self._load)
        if isinstance(self._data, pa.Table):
            return self._data
        return pa.Table.from_pandas(self._data)

    def to_pandas(self) -> pd.DataFrame:
        _require_arrow()
        _require_pandas()
        import pyarrow as pa

        if self._data is None:
            from wingspan.core.types.blocking import run_io

            self._data = run_io(self._load)
        if isinstance(self._data, pa.Table):
            return self._data.to_pandas()
        return self._data

    async def _load(self) -> pa.Table:
        if self._store is None or self.uri is None:
            raise ValueError(f"DataFrame {self.uri} has no blob store to load it from")
        return await _read_parquet(self._store, self.uri)

    def __deepcopy__(self, memo: dict[int, Any]) -> DataFrame:
        """A consumer's own: its pandas data copied (arrow data is immutable), the store shared."""
        import copy

        data = self._data
        if data is not None and type(data).__module__.partition(".")[0] != "pyarrow":
            data = copy.deepcopy(data, memo)
        twin = DataFrame(data, uri=self.uri, format=self.format, _store=self._store)
        return twin

    def __repr__(self) -> str:
        return f"DataFrame(uri={self.uri!r})" if self.uri else "DataFrame(<in memory>)"


def _columns(table: pa.Table) -> tuple[StructuredDatasetColumn, ...]:
    import pyarrow as pa

    def simple(arrow_type: pa.DataType) -> LiteralType:
        checks: list[tuple[Callable[[Any], bool], SimpleType]] = [
            (pa.types.is_integer, SimpleType.INTEGER), (pa.types.is_floating, SimpleType.FLOAT),
            (pa.types.is_boolean, SimpleType.BOOLEAN), (pa.types.is_timestamp, SimpleType.DATETIME),
            (pa.types.is_duration, SimpleType.DURATION), (pa.types.is_binary, SimpleType.BINARY),
        ]
        if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
            return LiteralType("simple", SimpleType.STRING)
        for check, kind in checks:
            if check(arrow_type):
                return LiteralType("simple", kind)
        return LiteralType("simple", SimpleType.OPAQUE, tag=str(arrow_type))

    return tuple(StructuredDatasetColumn(f.name, simple(f.type)) for f in table.schema)


async def _write_parquet(table: pa.Table, ctx: TransferContext) -> str:
    import anyio.to_thread

    _require_arrow()
    import pyarrow.parquet as pq

    store = ctx.require_store("a data frame")
    with tempfile.TemporaryDirectory(prefix="wingspan-frame-") as folder:
        path = Path(folder) / "data.parquet"
        await anyio.to_thread.run_sync(pq.write_table, table, path)
        uri = ctx.new_uri("data.parquet")
        await store.upload_file(path, uri)
    ctx.uploaded.append(uri)
    return uri


async def _read_parquet(store: BlobStore, uri: str) -> pa.Table:
    import anyio.to_thread

    _require_arrow()
    import pyarrow.parquet as pq

    with tempfile.TemporaryDirectory(prefix="wingspan-frame-") as folder:
        path = Path(folder) / "data.parquet"
        await store.download_file(uri, path)
        return cast("pa.Table", await anyio.to_thread.run_sync(pq.read_table, path))


class _FrameTransformer(TypeTransformer):
    python_kind: str

    def literal_type(self, py_type: Any, engine: TypeEngine) -> LiteralType:
        return LiteralType("structured_dataset_type",
                           StructuredDatasetType(PARQUET, (), self.python_kind),
                           annotation=type_repr(py_type))

    def fits(self, value: Any, py_type: Any, engine: TypeEngine, *, exact: bool) -> bool:
        return isinstance(value, py_type)

    def as_table(self, value: Any) -> pa.Table:
        raise NotImplementedError

    async def to_literal(self, value: Any, py_type: Any, engine: TypeEngine,
                         ctx: TransferContext) -> Literal:
        if not isinstance(value, py_type):
            raise ValueMismatch.of(type_repr(py_type), value)
        if isinstance(value, DataFrame) and value._data is None:
            assert value.uri is not None
            return Literal("structured_dataset", StructuredDataset(
                value.uri, StructuredDatasetType(value.format, (), self.python_kind)))
        table = self.as_table(value)
        uri = await _write_parquet(table, ctx)
        sd_type = StructuredDatasetType(PARQUET, _columns(table), self.python_kind)
        return Literal("structured_dataset", StructuredDataset(uri, sd_type))

    async def load(self, uri: str, ctx: TransferContext) -> Any:
        raise NotImplementedError

    async def to_python(self, literal: Literal, py_type: Any, engine: TypeEngine,
                        ctx: TransferContext) -> Any:
        if literal.kind != "structured_dataset":
            raise mismatch_from_literal(py_type, literal)
        return await self.load(literal.value.uri, ctx)


class PandasTransformer(_FrameTransformer):
    name = "pandas"
    python_kind = "pandas"

    def handles(self, py_type: Any) -> bool:
        pandas = sys.modules.get("pandas")  # an annotation naming it means it is imported
        return pandas is not None and py_type is pandas.DataFrame

    def as_table(self, value: Any) -> pa.Table:
        _require_arrow()
        import pyarrow as pa

        return pa.Table.from_pandas(value)

    async def load(self, uri: str, ctx: TransferContext) -> Any:
        import anyio.to_thread

        _require_pandas()

        table = await _read_parquet(ctx.require_store("a data frame"), uri)
        return await anyio.to_thread.run_sync(table.to_pandas)


class ArrowTransformer(_FrameTransformer):
    name = "pyarrow"
    python_kind = "pyarrow"

    def handles(self, py_type: Any) -> bool:
        pyarrow = sys.modules.get("pyarrow")
        return pyarrow is not None and py_type is pyarrow.Table

    def as_table(self, value: Any) -> pa.Table:
        return cast("pa.Table", value)

    async def load(self, uri: str, ctx: TransferContext) -> Any:
        table: pa.Table = await _read_parquet(ctx.require_store("a data frame"), uri)
        return table


class LazyFrameTransformer(_FrameTransformer):
    name = "dataframe"
    python_kind = "lazy"

    def handles(self, py_type: Any) -> bool:
        return py_type is DataFrame

    def as_table(self, value: Any) -> pa.Table:
        return cast(DataFrame, value).to_arrow()

    async def load(self, uri: str, ctx: TransferContext) -> Any:
        return DataFrame(uri=uri, _store=ctx.store)


FRAME_TRANSFORMERS: tuple[TypeTransformer, ...] = (
    PandasTransformer(), ArrowTransformer(), LazyFrameTransformer(),
)
