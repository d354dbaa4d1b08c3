"""Data frames: pandas DataFrames, pyarrow Tables and the lazy ``DataFrame``, as Parquet.

pandas and pyarrow are imported only when a frame is converted: ``import wingspan``
must stay fast for users who never touch them, and they are an extra
(``wingspan[dataframe]``), so a missing one is named with the extra to install.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from wingspan.core.errors import MissingExtraError, TypeTransformerError
from wingspan.core.model.literals import (
    Literal,
    LiteralType,
    SimpleType,
    StructuredDataset,
    StructuredDatasetColumn,
    StructuredDatasetType,
)
from wingspan.core.types.annotated import annotated_parts
from wingspan.core.types.engine import TypeEngine, mismatch_from_literal, type_repr
from wingspan.core.types.transformer import TransferContext, TypeTransformer, ValueMismatch

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from wingspan.core.storage.interface import BlobStore

__all__ = ["FRAME_TRANSFORMERS", "DataFrame", "FrameReader", "arrow_columns", "frame_parts", "load_in_task",
           "read_parquet", "select_columns"]

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
                 format: str = PARQUET, dataframe: pd.DataFrame | pa.Table | None = None,
                 _store: BlobStore | None = None, _columns: tuple[str, ...] = ()) -> None:
        if dataframe is not None:  # flytekit's spelling: StructuredDataset(dataframe=df)
            if data is not None:
                raise ValueError("DataFrame takes its data once: as the first argument or as dataframe=")
            data = dataframe
        if data is None and uri is None:
            raise ValueError("DataFrame needs data (a pandas DataFrame or pyarrow Table) or a uri")
        self._data = data
        self.uri = uri
        self.format = format
        self._store = _store
        # the columns the receiving task declared: only these are loaded
        self._columns = _columns

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

    def open(self, kind: type[Any]) -> FrameReader:
        """flytekit's reading spelling: ``df.open(pd.DataFrame).all()`` (or ``pa.Table``), and
        ``.iter()`` for the frame in record batches of that kind."""
        return FrameReader(self, kind)

    async def to_arrow_async(self) -> pa.Table:
        """``to_arrow`` for code on an event loop (no blocking read)."""
        _require_arrow()
        if self._data is None:
            self._data = await self._load()
        return _any_frame_as_table(self._data)

    async def _load(self) -> pa.Table:
        if self._store is None or self.uri is None:
            raise ValueError(f"DataFrame {self.uri} has no blob store to load it from")
        table = await read_parquet(self._store, self.uri)
        if self._columns:
            missing = [name for name in self._columns if name not in table.column_names]
            if missing:
                raise TypeTransformerError(f"DataFrame {self.uri}: declared column(s) {missing} are "
                                           f"missing; it has {table.column_names}")
            table = table.select(list(self._columns))
        return table

    def __deepcopy__(self, memo: dict[int, Any]) -> DataFrame:
        """A consumer's own: its pandas data copied (arrow data is immutable), the store shared."""
        import copy

        data = self._data
        if data is not None and type(data).__module__.partition(".")[0] != "pyarrow":
            data = copy.deepcopy(data, memo)
        return DataFrame(data, uri=self.uri, format=self.format, _store=self._store, _columns=self._columns)

    def __repr__(self) -> str:
        return f"DataFrame(uri={self.uri!r})" if self.uri else "DataFrame(<in memory>)"

    # as a field of a pydantic model: given as itself, a pandas or arrow frame, or a URI
    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        from wingspan.core.types.model_fields import reference_schema

        return reference_schema(cls, _frame_from_given, lambda v: v.uri,
                                "a DataFrame, a pandas DataFrame, a pyarrow Table or a URI")

    @classmethod
    def __get_pydantic_json_schema__(cls, schema: Any, handler: Any) -> dict[str, Any]:
        from wingspan.core.types.model_fields import REFERENCE_JSON_SCHEMA

        return dict(REFERENCE_JSON_SCHEMA)


class FrameReader:
    """A DataFrame read as ``kind``, a pandas DataFrame or a pyarrow Table (``DataFrame.open``)."""

    def __init__(self, frame: DataFrame, kind: type[Any]) -> None:
        if _kind_name(kind) not in ("pandas.DataFrame", "pyarrow.Table"):
            raise TypeError(f"DataFrame.open({type_repr(kind)}): a DataFrame opens as pandas.DataFrame or "
                            "pyarrow.Table")
        self._frame, self._pandas = frame, _kind_name(kind) == "pandas.DataFrame"

    def all(self) -> Any:
        return self._frame.to_pandas() if self._pandas else self._frame.to_arrow()

    def iter(self) -> Iterator[Any]:
        import pyarrow as pa

        for batch in self._frame.to_arrow().to_batches():
            yield batch.to_pandas() if self._pandas else pa.Table.from_batches([batch])


def _kind_name(kind: type[Any]) -> str:
    module = getattr(kind, "__module__", "").partition(".")[0]
    return f"{module}.{getattr(kind, '__name__', '')}"


def _frame_from_given(value: Any) -> DataFrame | None:
    if isinstance(value, str):
        return DataFrame(uri=value)
    pandas, pyarrow = sys.modules.get("pandas"), sys.modules.get("pyarrow")
    if (pandas is not None and isinstance(value, pandas.DataFrame)) or (
            pyarrow is not None and isinstance(value, pyarrow.Table)):
        return DataFrame(value)
    return None


def arrow_columns(table: pa.Table | pa.Schema) -> tuple[StructuredDatasetColumn, ...]:
    """The columns of an arrow table (or schema) as a structured dataset's literal columns."""
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

    schema = table if isinstance(table, pa.Schema) else table.schema
    return tuple(StructuredDatasetColumn(f.name, simple(f.type)) for f in schema)


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


async def read_parquet(store: BlobStore, uri: str) -> pa.Table:
    """The table stored at ``uri``: one Parquet file, or a folder of part files when ``uri``
    ends with ``/`` (as distributed writers such as Spark's executors or Dask's workers store a
    frame; files whose names start with ``_`` or ``.``, such as a schema, markers or checksums,
    are not data)."""
    import anyio.to_thread

    _require_arrow()
    import pyarrow.parquet as pq

    with tempfile.TemporaryDirectory(prefix="wingspan-frame-") as folder:
        if not uri.endswith("/"):
            path = Path(folder) / "data.parquet"
            await store.download_file(uri, path)
            return cast("pa.Table", await anyio.to_thread.run_sync(pq.read_table, path))
        count = 0
        async for part in store.list_prefix(uri):
            name = part.rsplit("/", 1)[-1]
            if name.endswith(".parquet") and not name.startswith(("_", ".")):
                count += 1
                await store.download_file(part, Path(folder) / f"{count:08d}-{name}")
        if count == 0:
            raise TypeTransformerError(f"data frame {uri}: the folder holds no Parquet part files")
        return cast("pa.Table", await anyio.to_thread.run_sync(pq.read_table, folder))



def frame_parts(py_type: Any) -> tuple[Any, dict[str, Any]]:
    """The frame class of an annotation and the columns it declares, by name and Python type:
    ``Annotated[pd.DataFrame, {"a": int}]`` (Flyte's ``kwtypes(a=int)`` is such a dict too)."""
    base, metadata = annotated_parts(py_type)
    columns: dict[str, Any] = {}
    for extra in metadata:
        if isinstance(extra, Mapping):
            columns.update(extra)
    return base, columns


def select_columns(table: pa.Table, columns: Mapping[str, Any], engine: TypeEngine, py_type: Any) -> pa.Table:
    """The declared columns of ``table``, in their declared order; a column missing or of
    another type is a ValueMismatch naming it."""
    if not columns:
        return table
    have = {column.name: column.type for column in arrow_columns(table)}
    missing = [name for name in columns if name not in have]
    if missing:
        raise ValueMismatch(type_repr(py_type), f"a frame with columns {list(have)}",
                            detail=f"missing column(s) {missing}: return them from the producing task, "
                                   "or declare only the columns it has")
    wrong = [f"{name!r} is {_column_repr(have[name])}, declared {type_repr(kind)}"
             for name, kind in columns.items() if not _same_column(have[name], engine.literal_type(kind))]
    if wrong:
        raise ValueMismatch(type_repr(py_type), f"a frame with columns {list(have)}",
                            detail="column types differ: " + "; ".join(wrong))
    return table.select(list(columns))


def _same_column(actual: LiteralType | None, declared: LiteralType) -> bool:
    if actual is None:
        return False
    if actual.kind == "simple" and actual.value == SimpleType.OPAQUE:
        return True  # an arrow type not described further (a list, a struct): not checked
    return actual.kind == declared.kind and (actual.kind != "simple" or actual.value == declared.value)


_PYTHON_NAMES = {SimpleType.INTEGER: "int", SimpleType.FLOAT: "float", SimpleType.STRING: "str",
                 SimpleType.BOOLEAN: "bool", SimpleType.DATETIME: "datetime",
                 SimpleType.DURATION: "timedelta", SimpleType.BINARY: "bytes"}


def _column_repr(literal_type: LiteralType | None) -> str:
    if literal_type is None:
        return "unknown"
    if literal_type.kind == "simple":
        return _PYTHON_NAMES.get(literal_type.value, str(literal_type.tag or literal_type.value.name.lower()))
    return literal_type.kind


def _any_frame_as_table(value: Any) -> pa.Table:
    """Any of the three kinds of frame as an arrow table."""
    _require_arrow()
    import pyarrow as pa

    if isinstance(value, DataFrame):
        return value.to_arrow()
    if isinstance(value, pa.Table):
        return value
    return pa.Table.from_pandas(value)


def _is_frame(value: Any) -> bool:
    if isinstance(value, DataFrame):
        return True
    module = type(value).__module__.partition(".")[0]
    return module in ("pandas", "pyarrow") and type(value).__name__ in ("DataFrame", "Table")


def _foreign_frame(value: Any, engine: TypeEngine) -> Any:
    """``value`` as an arrow table when a plugin's transformer serves its type as a frame."""
    from wingspan.core.types.engine import UnsupportedTypeError

    try:
        transformer = engine.transformer_for(type(value))
    except UnsupportedTypeError:
        return None
    return transformer.as_arrow_table(value)


def load_in_task(value: Any, py_type: Any, engine: TypeEngine) -> Any:
    """A stored DataFrame received by a pandas or arrow input, loaded as that, in the thread
    the task runs in (where blob I/O may block); any other value as it is."""
    if type(value) is not DataFrame or value._data is not None or frame_parts(py_type)[0] is DataFrame:
        return value
    try:
        return engine.transformer_for(py_type).adapt(DataFrame(value.to_arrow()), py_type, engine)
    except ValueMismatch as exc:
        raise TypeTransformerError(f"input {exc.render('')}") from None


class _FrameTransformer(TypeTransformer):
    python_kind: str

    def handles_frame(self, base: Any) -> bool:
        raise NotImplementedError

    def handles(self, py_type: Any) -> bool:
        return self.handles_frame(frame_parts(py_type)[0])

    def literal_type(self, py_type: Any, engine: TypeEngine) -> LiteralType:
        columns = tuple(StructuredDatasetColumn(name, engine.literal_type(kind))
                        for name, kind in frame_parts(py_type)[1].items())
        return LiteralType("structured_dataset_type",
                           StructuredDatasetType(PARQUET, columns, self.python_kind),
                           annotation=type_repr(py_type))

    def fits(self, value: Any, py_type: Any, engine: TypeEngine, *, exact: bool) -> bool:
        return isinstance(value, frame_parts(py_type)[0])

    def from_table(self, table: pa.Table, columns: Mapping[str, Any]) -> Any:
        """The declared kind of frame of an arrow table (already cut to its declared columns)."""
        raise NotImplementedError

    def adapt(self, value: Any, py_type: Any, engine: TypeEngine) -> Any:
        """A frame of any kind as this kind, cut to the declared columns: what a consumer in
        another process would read from the stored Parquet."""
        base, columns = frame_parts(py_type)
        if not _is_frame(value):
            value = _foreign_frame(value, engine)  # a plugin's kind of frame (a Dask DataFrame)
            if value is None:
                return value
        if isinstance(value, base) and not columns:
            return value
        if isinstance(value, DataFrame) and value._data is None:
            if base is DataFrame:
                return DataFrame(uri=value.uri, format=value.format, _store=value._store,
                                 _columns=tuple(columns) or value._columns)
            # stored, not loaded: loading is I/O, which the event loop's thread must not do;
            # the task loads it where it runs (load_in_task), a worker from its literal
            return value
        table = select_columns(_any_frame_as_table(value), columns, engine, py_type)
        return self.from_table(table, columns)

    async def to_literal(self, value: Any, py_type: Any, engine: TypeEngine,
                         ctx: TransferContext) -> Literal:
        # any kind of frame: a stored DataFrame handed on unloaded to a pandas input
        # crosses as its reference, and the receiver reads it as it declares
        if not _is_frame(value):
            raise ValueMismatch.of(type_repr(py_type), value)
        columns = frame_parts(py_type)[1]
        if isinstance(value, DataFrame) and value._data is None:
            assert value.uri is not None  # the receiver cuts (and checks) its declared columns
            return Literal("structured_dataset", StructuredDataset(
                value.uri, StructuredDatasetType(value.format, (), self.python_kind)))
        table = select_columns(_any_frame_as_table(value), columns, engine, py_type)
        uri = await _write_parquet(table, ctx)
        sd_type = StructuredDatasetType(PARQUET, arrow_columns(table), self.python_kind)
        return Literal("structured_dataset", StructuredDataset(uri, sd_type))

    async def load(self, uri: str, ctx: TransferContext, columns: Mapping[str, Any], engine: TypeEngine,
                   py_type: Any) -> Any:
        raise NotImplementedError

    async def to_python(self, literal: Literal, py_type: Any, engine: TypeEngine,
                        ctx: TransferContext) -> Any:
        if literal.kind != "structured_dataset":
            raise mismatch_from_literal(py_type, literal)
        return await self.load(literal.value.uri, ctx, frame_parts(py_type)[1], engine, py_type)


class PandasTransformer(_FrameTransformer):
    name = "pandas"
    python_kind = "pandas"

    def handles_frame(self, base: Any) -> bool:
        pandas = sys.modules.get("pandas")  # an annotation naming it means it is imported
        return pandas is not None and base is pandas.DataFrame

    def from_table(self, table: pa.Table, columns: Mapping[str, Any]) -> Any:
        _require_pandas()
        return table.to_pandas()

    async def load(self, uri: str, ctx: TransferContext, columns: Mapping[str, Any], engine: TypeEngine,
                   py_type: Any) -> Any:
        import anyio.to_thread

        _require_pandas()

        table = await read_parquet(ctx.require_store("a data frame"), uri)
        table = select_columns(table, columns, engine, py_type)
        return await anyio.to_thread.run_sync(table.to_pandas)


class ArrowTransformer(_FrameTransformer):
    name = "pyarrow"
    python_kind = "pyarrow"

    def handles_frame(self, base: Any) -> bool:
        pyarrow = sys.modules.get("pyarrow")
        return pyarrow is not None and base is pyarrow.Table

    def from_table(self, table: pa.Table, columns: Mapping[str, Any]) -> Any:
        return table

    async def load(self, uri: str, ctx: TransferContext, columns: Mapping[str, Any], engine: TypeEngine,
                   py_type: Any) -> Any:
        table: pa.Table = await read_parquet(ctx.require_store("a data frame"), uri)
        return select_columns(table, columns, engine, py_type)


class LazyFrameTransformer(_FrameTransformer):
    name = "dataframe"
    python_kind = "lazy"

    def handles_frame(self, base: Any) -> bool:
        return base is DataFrame

    def from_table(self, table: pa.Table, columns: Mapping[str, Any]) -> Any:
        return DataFrame(table)

    async def load(self, uri: str, ctx: TransferContext, columns: Mapping[str, Any], engine: TypeEngine,
                   py_type: Any) -> Any:
        # not read here: the declared columns are cut (and checked) when the task loads it
        return DataFrame(uri=uri, _store=ctx.store, _columns=tuple(columns))


FRAME_TRANSFORMERS: tuple[TypeTransformer, ...] = (
    PandasTransformer(), ArrowTransformer(), LazyFrameTransformer(),
)
