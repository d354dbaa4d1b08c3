"""Ray Datasets as task data: a folder of Parquet files in the blob store, written and read by
the cluster's workers, so no block passes through the task's process.

A returned ``ray.data.Dataset`` becomes ``<attempt prefix>/<id>/frame/`` holding the Parquet
files Ray writes (one or more per block). It reaches the store where Ray's own writers reach it:
a local folder store directly, an S3 store (MinIO) through pyarrow's S3 filesystem with the
engine's credentials. Core's frame readers take such a folder too, so the next task may declare
a pandas DataFrame, a pyarrow Table or a ``wingspan.DataFrame`` instead of a Dataset.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from wingspan.core.model.literals import Literal, LiteralType, StructuredDataset, StructuredDatasetType
from wingspan.core.storage.uris import parse_uri
from wingspan.core.types.engine import TypeEngine, mismatch_from_literal, type_repr
from wingspan.core.types.frames import PARQUET, DataFrame, arrow_columns
from wingspan.plugin import TransferContext, TypeTransformer, ValueMismatch

if TYPE_CHECKING:
    from pyarrow.fs import FileSystem

__all__ = ["RayDatasetTransformer", "dataset_place"]

PYTHON_KIND = "ray"


def _dataset_class() -> Any:
    module = sys.modules.get("ray.data")  # an annotation naming it means it is imported
    return None if module is None else module.Dataset


def _stored(value: Any) -> bool:
    return isinstance(value, DataFrame) and value.uri is not None


def dataset_place(uri: str, env: dict[str, str]) -> tuple[str, FileSystem | None]:
    """Where Ray's readers and writers find ``uri``: a local path (no filesystem), or a
    ``bucket/key`` path on an S3 filesystem made from the store's variables."""
    parsed = parse_uri(uri, prefix=True)
    if parsed.scheme == "file":
        return parsed.path, None
    from pyarrow.fs import S3FileSystem

    endpoint = env.get("WINGSPAN_S3_ENDPOINT", "")
    secure = env.get("WINGSPAN_S3_SECURE", "false") == "true"
    fs = S3FileSystem(access_key=env.get("WINGSPAN_S3_ACCESS_KEY") or None,
                      secret_key=env.get("WINGSPAN_S3_SECRET_KEY") or None,
                      region=env.get("WINGSPAN_S3_REGION") or "us-east-1",
                      endpoint_override=endpoint.split("://")[-1] or None,
                      scheme="https" if secure else "http")
    return f"{parsed.bucket}/{parsed.key}", fs


class RayDatasetTransformer(TypeTransformer):
    """``ray.data.Dataset`` as a folder of Parquet files."""

    name = "ray-dataset"

    def handles(self, py_type: Any) -> bool:
        dataset_class = _dataset_class()
        return dataset_class is not None and py_type is dataset_class

    def literal_type(self, py_type: Any, engine: TypeEngine) -> LiteralType:
        return LiteralType("structured_dataset_type", StructuredDatasetType(PARQUET, (), PYTHON_KIND),
                           annotation=type_repr(py_type))

    def fits(self, value: Any, py_type: Any, engine: TypeEngine, *, exact: bool) -> bool:
        return isinstance(value, py_type) or _stored(value)

    def adapt(self, value: Any, py_type: Any, engine: TypeEngine) -> Any:
        if _stored(value):
            return value  # read where the consuming task runs: loading is I/O, not for the loop
        module = type(value).__module__.partition(".")[0]
        if module in ("pandas", "pyarrow"):
            import ray
            import ray.data

            if ray.is_initialized():
                return ray.data.from_pandas(value) if module == "pandas" else ray.data.from_arrow(value)
        return value

    def copy_for_task(self, value: Any) -> Any:
        return value  # a Dataset is an immutable plan over blocks: nothing to copy

    async def to_literal(self, value: Any, py_type: Any, engine: TypeEngine,
                         ctx: TransferContext) -> Literal:
        import anyio.to_thread
        import pyarrow as pa

        if _stored(value):  # a stored Dataset passing through this process: the same files
            sd_type = StructuredDatasetType(PARQUET, (), PYTHON_KIND)
            return Literal("structured_dataset", StructuredDataset(value.uri, sd_type))
        if not isinstance(value, py_type):
            raise ValueMismatch.of(type_repr(py_type), value)
        store = ctx.require_store("a Ray Dataset")
        folder = ctx.new_uri("frame") + "/"
        path, filesystem = dataset_place(folder, store.environment())

        def write() -> pa.Schema:
            value.write_parquet(path, filesystem=filesystem)
            schema = value.schema()
            return schema.base_schema if hasattr(schema, "base_schema") else pa.schema([])

        schema = await anyio.to_thread.run_sync(write)
        async for uri in store.list_prefix(folder):
            ctx.uploaded.append(uri)
        sd_type = StructuredDatasetType(PARQUET, arrow_columns(schema), PYTHON_KIND)
        return Literal("structured_dataset", StructuredDataset(folder, sd_type))

    async def to_python(self, literal: Literal, py_type: Any, engine: TypeEngine,
                        ctx: TransferContext) -> Any:
        import ray.data

        if literal.kind != "structured_dataset":
            raise mismatch_from_literal(py_type, literal)
        uri: str = literal.value.uri
        store = ctx.require_store("a Ray Dataset")
        if not ray.is_initialized():
            # a process with no cluster (the engine's, between two tasks): the stored files, which
            # the next task reads as it declares (a Ray task reading them on its own cluster)
            return DataFrame(uri=uri, _store=store)
        path, filesystem = dataset_place(uri, store.environment())
        return ray.data.read_parquet(path, filesystem=filesystem)
