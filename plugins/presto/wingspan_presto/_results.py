"""Query results into outputs: every row into one Parquet file in the blob store, written in
row groups of ``batch_rows`` so the plugin never holds more rows than that; or the first
row's columns as typed scalars."""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import json
import re
import tempfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio.to_thread

from wingspan.core.model.interface import Variable
from wingspan.core.model.literals import (
    Literal,
    LiteralMap,
    LiteralType,
    SimpleType,
    StructuredDataset,
    StructuredDatasetColumn,
    StructuredDatasetType,
)
from wingspan.core.types.purity import to_literal_now
from wingspan.plugin import TransferContext

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.parquet as pq

__all__ = ["FrameWriter", "scalar_outputs", "trino_column"]

_PYTHON_OF = {SimpleType.INTEGER: int, SimpleType.FLOAT: float, SimpleType.STRING: str,
              SimpleType.BOOLEAN: bool, SimpleType.DATETIME: dt.datetime}


def trino_column(trino_type: str) -> tuple[pa.DataType, Callable[[Any], Any]]:
    """The Arrow type of a Trino/Presto column type and how to read its JSON values."""
    import pyarrow as pa

    base = trino_type.split("(", 1)[0].strip().lower()
    simple: dict[str, tuple[pa.DataType, Callable[[Any], Any]]] = {
        "bigint": (pa.int64(), int), "integer": (pa.int32(), int), "smallint": (pa.int16(), int),
        "tinyint": (pa.int8(), int), "double": (pa.float64(), _float), "real": (pa.float32(), _float),
        "boolean": (pa.bool_(), bool), "varchar": (pa.string(), str), "char": (pa.string(), str),
        "date": (pa.date32(), dt.date.fromisoformat), "varbinary": (pa.binary(), base64.b64decode),
    }
    if base in simple:
        return simple[base]
    if base == "timestamp" and "with time zone" not in trino_type:
        return pa.timestamp("us"), _timestamp
    if base == "decimal":
        match = re.match(r"decimal\((\d+),\s*(\d+)\)", trino_type)
        if match:
            return pa.decimal128(int(match.group(1)), int(match.group(2))), decimal.Decimal
    # arrays, maps, rows, zoned timestamps, JSON...: their JSON text
    return pa.string(), lambda value: value if isinstance(value, str) else json.dumps(value)


def _float(value: Any) -> float:
    return float(value)  # "NaN", "Infinity" and "-Infinity" come as text


def _timestamp(value: Any) -> dt.datetime:
    return dt.datetime.fromisoformat(str(value))


def _column_type(arrow_type: pa.DataType) -> LiteralType:
    import pyarrow as pa

    checks = ((pa.types.is_integer, SimpleType.INTEGER), (pa.types.is_floating, SimpleType.FLOAT),
              (pa.types.is_boolean, SimpleType.BOOLEAN), (pa.types.is_timestamp, SimpleType.DATETIME),
              (pa.types.is_binary, SimpleType.BINARY), (pa.types.is_string, SimpleType.STRING))
    for check, kind in checks:
        if check(arrow_type):
            return LiteralType("simple", kind)
    return LiteralType("simple", SimpleType.OPAQUE, tag=str(arrow_type))


class FrameWriter:
    """Rows into a local Parquet file, a row group at a time, then into the blob store."""

    def __init__(self, batch_rows: int) -> None:
        self.batch_rows = max(1, batch_rows)
        self.rows_written = 0
        self._folder = tempfile.TemporaryDirectory(prefix="wingspan-query-")
        self._path = Path(self._folder.name) / "results.parquet"
        self._schema: pa.Schema | None = None
        self._readers: list[Callable[[Any], Any]] = []
        self._pending: list[Sequence[Any]] = []
        self._writer: pq.ParquetWriter | None = None

    def set_columns(self, names: Sequence[str], types: Sequence[pa.DataType],
                    readers: Sequence[Callable[[Any], Any]] | None = None) -> None:
        import pyarrow as pa

        if self._schema is None:
            self._schema = pa.schema(list(zip(names, types, strict=True)))
            self._readers = list(readers or [lambda v: v] * len(names))

    @property
    def has_columns(self) -> bool:
        return self._schema is not None

    async def add(self, rows: Iterable[Sequence[Any]]) -> None:
        """Takes a page of rows; writes each full row group (so at most a page and a group are held)."""
        self._pending.extend(rows)
        while len(self._pending) >= self.batch_rows:
            group, self._pending = self._pending[:self.batch_rows], self._pending[self.batch_rows:]
            await anyio.to_thread.run_sync(self._write, group)

    async def _flush(self) -> None:
        if not self._pending or self._schema is None:
            return
        rows, self._pending = self._pending, []
        await anyio.to_thread.run_sync(self._write, rows)

    def _write(self, rows: list[Sequence[Any]]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        assert self._schema is not None
        columns = [pa.array([None if row[i] is None else read(row[i]) for row in rows], type=field.type)
                   for i, (field, read) in enumerate(zip(self._schema, self._readers, strict=True))]
        if self._writer is None:
            self._writer = pq.ParquetWriter(self._path, self._schema)
        self._writer.write_table(pa.Table.from_arrays(columns, schema=self._schema))
        self.rows_written += len(rows)

    async def finish(self, transfer: TransferContext, output: Variable) -> Literal:
        """Writes what is left, uploads the file and returns the output's literal."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            if self._schema is None:  # a statement without columns
                self.set_columns([], [])
            await self._flush()
            assert self._schema is not None
            if self._writer is None:  # no rows: an empty file with the columns
                self._writer = pq.ParquetWriter(self._path, self._schema)
                self._writer.write_table(pa.Table.from_pylist([], schema=self._schema))
            self._writer.close()
            store = transfer.require_store("a query's results")
            uri = transfer.new_uri("results.parquet")
            await store.upload_file(self._path, uri)
            transfer.uploaded.append(uri)
        finally:
            self._folder.cleanup()
        declared = output.type.value if output.type is not None else None
        kind = declared.python_kind if isinstance(declared, StructuredDatasetType) else ""
        columns = tuple(StructuredDatasetColumn(f.name, _column_type(f.type)) for f in self._schema)
        sd_type = StructuredDatasetType("parquet", columns, kind)
        return Literal("structured_dataset", StructuredDataset(uri, sd_type))

    def discard(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._folder.cleanup()


def scalar_outputs(where: str, outputs: Sequence[Variable], names: Sequence[str],
                   row: Sequence[Any] | None) -> LiteralMap:
    """The first row's columns named like the outputs (case aside), as their declared types."""
    if row is None:
        raise ValueError(f"{where}: the query returned no rows, but the task declares outputs "
                         f"{', '.join(v.name for v in outputs)} from its first row")
    by_name = {name.lower(): i for i, name in enumerate(names)}
    literals = {}
    for variable in outputs:
        index = by_name.get(variable.name.lower())
        if index is None:
            raise ValueError(f"{where}: output {variable.name!r} has no column of that name in the result "
                             f"(columns: {', '.join(names) or 'none'}); name it with AS {variable.name}")
        assert variable.type is not None
        py_type = _PYTHON_OF.get(variable.type.value) if variable.type.kind == "simple" else None
        if py_type is None:
            raise ValueError(f"{where}: output {variable.name!r} is not a scalar")
        value = row[index]
        if py_type is float and isinstance(value, (int, str, decimal.Decimal)):
            value = float(value)
        elif py_type is dt.datetime and isinstance(value, str):
            value = dt.datetime.fromisoformat(value)
        elif py_type is str and not isinstance(value, str) and value is not None:
            value = str(value)
        try:
            literals[variable.name] = to_literal_now(value, py_type, variable.name)
        except Exception as exc:
            raise ValueError(f"{where}: output {variable.name!r} is declared {py_type.__name__}, but the "
                             f"query gave {value!r}") from exc
    return LiteralMap(literals)
