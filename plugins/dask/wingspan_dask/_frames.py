"""Dask DataFrames as task data: a folder of Parquet parts in the blob store, written and read
by the cluster's workers, one part per partition, so no frame passes through the task's process.

A returned Dask DataFrame becomes ``<attempt prefix>/<id>/frame/`` holding ``part.NNNNNN.parquet``
files and ``_schema.parquet`` (its columns, no rows: what a reader needs to build the frame
without reading data). Core's frame readers take such a folder too, so the next task may
declare a pandas DataFrame, a pyarrow Table or a ``wingspan.DataFrame`` instead.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import io
import sys
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from wingspan.core.model.literals import Literal, LiteralType, StructuredDataset, StructuredDatasetType
from wingspan.core.types.engine import TypeEngine, mismatch_from_literal, type_repr
from wingspan.core.types.frames import PARQUET, DataFrame, arrow_columns, frame_parts
from wingspan.plugin import TransferContext, TypeTransformer, ValueMismatch

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from wingspan.plugin import BlobStore

__all__ = ["DaskFrameTransformer", "read_part", "write_part"]

T = TypeVar("T")
PYTHON_KIND = "dask"
SCHEMA_FILE = "_schema.parquet"


def _open_store(uri: str, env: Mapping[str, str]) -> BlobStore:
    # a worker opens the engine's store from the variables the store names, not its own settings
    from wingspan.core.config import Settings
    from wingspan.core.storage import store_for_uri

    return store_for_uri(uri, Settings.load(env=dict(env)))


def _parquet_bytes(table: pa.Table) -> bytes:
    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


def _run(func: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Runs blob I/O to the end from synchronous code (a Dask task): on a loop of its own, in
    a thread of its own when this thread's loop is running (the synchronous scheduler
    computing a frame from a loop)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(func())
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(func())).result()


def write_part(frame: pd.DataFrame, uri: str, env: Mapping[str, str]) -> str:
    """Runs on a worker: one partition to one Parquet object at ``uri``."""
    import pyarrow as pa

    data = _parquet_bytes(pa.Table.from_pandas(frame, preserve_index=None))

    async def put() -> None:
        async with _open_store(uri, env) as store:
            await store.put(uri, data)

    _run(put)
    return uri


def read_part(uri: str, env: Mapping[str, str], columns: Sequence[str]) -> pd.DataFrame:
    """Runs on a worker: one Parquet object as a pandas partition (its declared columns only)."""
    import pyarrow.parquet as pq

    async def get() -> bytes:
        async with _open_store(uri, env) as store:
            return await store.get(uri)

    table = pq.read_table(io.BytesIO(_run(get)))
    if columns:
        table = table.select(list(columns))
    return table.to_pandas()


def _dask_frame_class() -> Any:
    module = sys.modules.get("dask.dataframe")  # an annotation naming it means it is imported
    return None if module is None else module.DataFrame


def _data_columns(schema: pa.Schema) -> list[str]:
    return [name for name in schema.names if not name.startswith("__index_level_")]


def _compute(tasks: list[Any]) -> list[Any]:
    """Runs ``tasks`` on the current Dask client's cluster (the task's), else on threads here."""
    from dask.base import compute

    try:
        from distributed import default_client

        client = default_client()
    except (ImportError, ValueError):
        return list(compute(*tasks, scheduler="threads"))
    return list(client.gather(client.compute(tasks)))


class DaskFrameTransformer(TypeTransformer):
    """``dask.dataframe.DataFrame`` (optionally ``Annotated`` with its columns) as Parquet parts."""

    name = "dask-dataframe"

    def handles(self, py_type: Any) -> bool:
        frame_class = _dask_frame_class()
        return frame_class is not None and frame_parts(py_type)[0] is frame_class

    def literal_type(self, py_type: Any, engine: TypeEngine) -> LiteralType:
        from wingspan.core.model.literals import StructuredDatasetColumn

        columns = tuple(StructuredDatasetColumn(name, engine.literal_type(kind))
                        for name, kind in frame_parts(py_type)[1].items())
        return LiteralType("structured_dataset_type", StructuredDatasetType(PARQUET, columns, PYTHON_KIND),
                           annotation=type_repr(py_type))

    def fits(self, value: Any, py_type: Any, engine: TypeEngine, *, exact: bool) -> bool:
        return isinstance(value, frame_parts(py_type)[0])

    def copy_for_task(self, value: Any) -> Any:
        # a Dask frame is a lazy graph (it cannot be deep-copied); a shallow copy keeps one
        # task's column assignments from another's, and copies no data
        return value.copy() if isinstance(value, _dask_frame_class() or ()) else super().copy_for_task(value)

    def as_arrow_table(self, value: Any) -> Any:
        """For a pandas or arrow input in this process: the frame computed here (the consumer
        holds it in memory either way)."""
        import pyarrow as pa

        frame_class = _dask_frame_class()
        if frame_class is None or not isinstance(value, frame_class):
            return None
        return pa.Table.from_pandas(value.compute(), preserve_index=None)

    def adapt(self, value: Any, py_type: Any, engine: TypeEngine) -> Any:
        """Another task's frame in this process, as a Dask DataFrame of one partition."""
        import dask.dataframe as dd

        base, columns = frame_parts(py_type)
        if isinstance(value, base):
            return value[list(columns)] if columns else value
        if isinstance(value, DataFrame) and value.uri is not None:
            return value  # stored: loading is I/O, which the event loop's thread must not do
        module = type(value).__module__.partition(".")[0]
        if isinstance(value, DataFrame) or module == "pyarrow":
            value = value.to_pandas()
        elif module != "pandas":
            return value
        frame = dd.from_pandas(value, npartitions=1)
        return frame[list(columns)] if columns else frame

    async def to_literal(self, value: Any, py_type: Any, engine: TypeEngine,
                         ctx: TransferContext) -> Literal:
        import anyio.to_thread
        import pyarrow as pa
        from dask.delayed import delayed

        base, columns = frame_parts(py_type)
        if not isinstance(value, base):
            raise ValueMismatch.of(type_repr(py_type), value)
        if columns:
            missing = [name for name in columns if name not in value.columns]
            if missing:
                have = list(value.columns)
                raise ValueMismatch(type_repr(py_type), f"a Dask DataFrame with columns {have}",
                                    detail=f"missing column(s) {missing}: return them from the task, "
                                           "or declare only the columns it has")
            value = value[list(columns)]
        store = ctx.require_store("a Dask DataFrame")
        folder = ctx.new_uri("frame") + "/"
        env = store.environment()
        from dask.dataframe.dispatch import make_meta

        schema = pa.Table.from_pandas(make_meta(value), preserve_index=None)
        await store.put(folder + SCHEMA_FILE, _parquet_bytes(schema))
        writes = [delayed(write_part)(part, f"{folder}part.{index:06d}.parquet", env)
                  for index, part in enumerate(value.to_delayed())]
        written: list[str] = await anyio.to_thread.run_sync(_compute, writes)
        ctx.uploaded.extend([folder + SCHEMA_FILE, *written])
        data_schema = pa.schema([field for field in schema.schema
                                 if field.name in _data_columns(schema.schema)])
        sd_type = StructuredDatasetType(PARQUET, arrow_columns(data_schema), PYTHON_KIND)
        return Literal("structured_dataset", StructuredDataset(folder, sd_type))

    async def to_python(self, literal: Literal, py_type: Any, engine: TypeEngine,
                        ctx: TransferContext) -> Any:
        import dask.dataframe as dd
        from dask.delayed import delayed

        if literal.kind != "structured_dataset":
            raise mismatch_from_literal(py_type, literal)
        uri: str = literal.value.uri
        store = ctx.require_store("a Dask DataFrame")
        parts, schema = await _parts_and_schema(store, uri)
        declared = list(frame_parts(py_type)[1])
        missing = [name for name in declared if name not in schema.names]
        if missing:
            raise ValueMismatch(type_repr(py_type), f"a frame with columns {_data_columns(schema)}",
                                detail=f"missing column(s) {missing}: return them from the producing task, "
                                       "or declare only the columns it has")
        if declared:
            keep = declared + [name for name in schema.names if name.startswith("__index_level_")]
            schema = schema.empty_table().select(keep).schema
        meta = schema.empty_table().to_pandas()
        env = store.environment()
        reads = [delayed(read_part)(part, env, list(schema.names) if declared else []) for part in parts]
        return dd.from_delayed(reads, meta=meta, verify_meta=False)


async def _parts_and_schema(store: BlobStore, uri: str) -> tuple[list[str], pa.Schema]:
    """The part files of a stored frame (a folder, or one file) and its schema, read from its
    schema file or else from its first part."""
    import pyarrow.parquet as pq

    if not uri.endswith("/"):
        return [uri], pq.read_schema(io.BytesIO(await store.get(uri)))
    parts: list[str] = []
    schema_uri = ""
    async for item in store.list_prefix(uri):
        name = item.rsplit("/", 1)[-1]
        if name == SCHEMA_FILE:
            schema_uri = item
        elif name.endswith(".parquet") and not name.startswith(("_", ".")):
            parts.append(item)
    if not parts:
        from wingspan.plugin import UserError

        raise UserError(f"Dask DataFrame {uri}: the folder holds no Parquet part files")
    return parts, pq.read_schema(io.BytesIO(await store.get(schema_uri or parts[0])))
