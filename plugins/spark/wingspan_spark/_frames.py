"""Spark DataFrames as data between tasks: Parquet written by the executors, never
collected to the driver.

A Spark DataFrame returned from a task is written as a folder of Parquet parts under the
attempt's output prefix. On a ``file://`` blob store the executors write there directly; on
another store (S3, MinIO) they write to a local staging folder whose parts are then
uploaded through the blob store (the hadoop-aws jars and the AWS SDK bundle that
``s3a://`` needs are not shipped with pyspark). The literal is the folder's URI ending in
``/``, which the built-in pandas, arrow and lazy frame transformers read too; a Spark
DataFrame input reads a folder or a single Parquet file (another task's pandas frame).
"""

from __future__ import annotations

import atexit
import shutil
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio.to_thread

from wingspan.core.model.literals import (
    Literal,
    LiteralType,
    SimpleType,
    StructuredDataset,
    StructuredDatasetColumn,
    StructuredDatasetType,
)
from wingspan.core.storage.local import LocalBlobStore
from wingspan.core.types.engine import mismatch_from_literal, type_repr
from wingspan.core.types.frames import DataFrame as StoredFrame
from wingspan.plugin import TransferContext, TypeTransformer, UserError, ValueMismatch

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.types import DataType

    from wingspan.core.types.engine import TypeEngine

__all__ = ["TRANSFORMER", "SparkFrameTransformer", "active_session", "set_active_session"]

PARQUET = "parquet"
_session: SparkSession | None = None
_staging: list[Path] = []


def set_active_session(session: SparkSession | None) -> None:
    """The session Spark DataFrame inputs are read with (the task environment's)."""
    global _session
    _session = session


def active_session() -> SparkSession:
    if _session is None:
        raise UserError("a Spark DataFrame input is read with the task's Spark session: declare the "
                        "task with @task(task_config=Spark(...)), or take the input as a pandas "
                        "DataFrame or pyarrow Table")
    return _session


def _staging_folder() -> Path:
    # kept until the process ends: Spark reads a frame lazily, whenever the task uses it
    if not _staging:
        atexit.register(_remove_staging)
    folder = Path(tempfile.mkdtemp(prefix="wingspan-spark-"))
    _staging.append(folder)
    return folder


def _remove_staging() -> None:
    for folder in _staging:
        shutil.rmtree(folder, ignore_errors=True)


def _spark_frame_class() -> type | None:
    module = sys.modules.get("pyspark.sql")  # an annotation naming it means it is imported
    return getattr(module, "DataFrame", None) if module is not None else None


def _is_other_frame(value: Any) -> bool:
    if isinstance(value, StoredFrame):
        return True
    module = type(value).__module__.partition(".")[0]
    return module in ("pandas", "pyarrow") and type(value).__name__ in ("DataFrame", "Table")


def _simple(data_type: DataType) -> LiteralType:
    name = type(data_type).__name__
    kinds = {"ByteType": SimpleType.INTEGER, "ShortType": SimpleType.INTEGER,
             "IntegerType": SimpleType.INTEGER, "LongType": SimpleType.INTEGER,
             "FloatType": SimpleType.FLOAT, "DoubleType": SimpleType.FLOAT,
             "StringType": SimpleType.STRING, "BooleanType": SimpleType.BOOLEAN,
             "TimestampType": SimpleType.DATETIME, "BinaryType": SimpleType.BINARY}
    if name in kinds:
        return LiteralType("simple", kinds[name])
    return LiteralType("simple", SimpleType.OPAQUE, tag=data_type.simpleString())


class SparkFrameTransformer(TypeTransformer):
    """``pyspark.sql.DataFrame`` as a structured dataset (Parquet)."""

    name = "spark"

    def handles(self, py_type: Any) -> bool:
        frame = _spark_frame_class()
        return frame is not None and isinstance(py_type, type) and issubclass(py_type, frame)

    def literal_type(self, py_type: Any, engine: TypeEngine) -> LiteralType:
        return LiteralType("structured_dataset_type", StructuredDatasetType(PARQUET, (), "spark"),
                           annotation=type_repr(py_type))

    def fits(self, value: Any, py_type: Any, engine: TypeEngine, *, exact: bool) -> bool:
        frame = _spark_frame_class()
        # a stored frame (another process's output) or a pandas / arrow frame (a Python
        # task's) is data a Spark input reads as well
        return (frame is not None and isinstance(value, frame)) or _is_other_frame(value)

    async def to_literal(self, value: Any, py_type: Any, engine: TypeEngine, ctx: TransferContext) -> Literal:
        if not self.fits(value, py_type, engine, exact=False):
            raise ValueMismatch.of(type_repr(py_type), value)
        if _is_other_frame(value):
            # as the built-in transformers write it: a stored frame not loaded is handed on as
            # its reference, a pandas or arrow frame is written as one Parquet file
            return await engine.to_literal(value, type(value), ctx)
        frame: DataFrame = value
        store = ctx.require_store("a Spark DataFrame")
        folder_uri = ctx.new_uri("spark-frame") + "/"
        if isinstance(store, LocalBlobStore):  # the executors write into the store itself
            await anyio.to_thread.run_sync(_write, frame, store.path_for(folder_uri.rstrip("/")))
        else:
            staging = _staging_folder() / "frame"
            await anyio.to_thread.run_sync(_write, frame, staging)
            for part in sorted(staging.iterdir()):
                if part.is_file() and not part.name.startswith((".", "_")):
                    await store.upload_file(part, folder_uri + part.name)
            shutil.rmtree(staging, ignore_errors=True)
        ctx.uploaded.append(folder_uri)
        columns = tuple(StructuredDatasetColumn(f.name, _simple(f.dataType)) for f in frame.schema.fields)
        return Literal("structured_dataset", StructuredDataset(
            folder_uri, StructuredDatasetType(PARQUET, columns, "spark")))

    async def to_python(self, literal: Literal, py_type: Any, engine: TypeEngine,
                        ctx: TransferContext) -> Any:
        if literal.kind != "structured_dataset":
            raise mismatch_from_literal(py_type, literal)
        uri: str = literal.value.uri
        store = ctx.require_store("a Spark DataFrame")
        if _session is None:
            # no Spark here (the engine's process, between two tasks): the stored frame, read
            # by whichever task receives it, as Spark, pandas or arrow
            return StoredFrame(uri=uri, _store=store)
        if isinstance(store, LocalBlobStore):
            path = store.path_for(uri.rstrip("/"))
        else:
            path = _staging_folder() / "frame"
            path.mkdir()
            if uri.endswith("/"):
                async for part in store.list_prefix(uri):
                    name = part.rsplit("/", 1)[-1]
                    if not name.startswith((".", "_")):
                        await store.download_file(part, path / name)
            else:
                await store.download_file(uri, path / "data.parquet")
        session = active_session()
        return await anyio.to_thread.run_sync(lambda: session.read.parquet(str(path)))


def _write(frame: DataFrame, path: Path) -> None:
    frame.write.mode("errorifexists").parquet(str(path))


#: the one instance: registered by the SDK half at import (so that authoring knows the type)
#: and returned by the hook (so that installing the plugins skips it)
TRANSFORMER = SparkFrameTransformer()
