"""What a cache key reads of each input: the value's literal, except for data.

Files, folders and frames are identified by their content (a sha256 of the bytes; of the
columns' arrow form for a frame), not by where they happen to be: each run uploads its
outputs anew, so their locations never repeat, and a local file has no location a key
could use. A ``HashMethod`` in the annotation of the input, or of the output that
feeds it, replaces that with the user's function (Flyte's spelling).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio.to_thread

from wingspan.core.engine.inprocess import holds_data
from wingspan.core.model.literals import Literal, LiteralMap
from wingspan.core.types import TransferContext, default_engine
from wingspan.core.types.annotated import hash_method

if TYPE_CHECKING:
    import pyarrow as pa

    from wingspan.core.storage.interface import BlobStore

__all__ = ["key_literals"]

_CHUNK = 1 << 20


async def key_literals(inputs: Mapping[str, Any], input_types: Mapping[str, Any],
                       store: BlobStore | None, hashers: Mapping[str, Callable[[Any], Any]] | None = None
                       ) -> LiteralMap:
    """The literals a cache key hashes: data inputs by content (or by a user's hash method)."""
    engine = default_engine()
    literals = {}
    for name, value in inputs.items():
        py_type = input_types[name]
        hasher = hash_method(py_type) or (hashers or {}).get(name)
        if hasher is not None:
            if isinstance(value, Literal):
                value = await engine.to_python(value, py_type, TransferContext(store), name=name)
            literals[name] = Literal("string", f"hash:{hasher(value)}")
        elif holds_data(engine.literal_type(py_type)):
            digest = hashlib.sha256()
            await _digest(value, store, digest)
            literals[name] = Literal("string", f"content:{digest.hexdigest()}")
        else:
            literals[name] = await engine.to_literal(value, py_type, name=name)
    return LiteralMap(literals)


async def _digest(value: Any, store: BlobStore | None, digest: Any) -> None:
    """Feeds ``value``'s content into ``digest``: files, folders, frames, and the lists,
    dicts and literals that hold them; other values by their repr (the parts of a record)."""
    from wingspan.core.types.files import Directory, File
    from wingspan.core.types.frames import DataFrame

    if isinstance(value, Literal):
        await _digest_literal(value, store, digest)
    elif isinstance(value, (list, tuple)):
        digest.update(b"[")
        for item in value:
            await _digest(item, store, digest)
            digest.update(b",")
    elif isinstance(value, dict):
        digest.update(b"{")
        for key in sorted(value):
            digest.update(repr(key).encode())
            await _digest(value[key], store, digest)
    elif isinstance(value, File):
        digest.update(b"file:")
        await _digest_file_value(value, store, digest)
    elif isinstance(value, Directory):
        digest.update(b"dir:")
        await _digest_folder_value(value, store, digest)
    elif isinstance(value, DataFrame):
        await _digest_table(await value.to_arrow_async(), digest)
    elif type(value).__module__.partition(".")[0] in ("pandas", "pyarrow"):
        await _digest_table(_as_arrow(value), digest)
    else:
        digest.update(repr(value).encode())


async def _digest_file_value(value: Any, store: BlobStore | None, digest: Any) -> None:
    local = value.local_source
    if local is not None:
        await anyio.to_thread.run_sync(_digest_path, local, digest)
    else:
        await _digest_object(value.uri, value.store or store, digest)


async def _digest_folder_value(value: Any, store: BlobStore | None, digest: Any) -> None:
    local = value.local_source
    if local is not None:
        await anyio.to_thread.run_sync(_digest_tree, local, digest)
    else:
        await _digest_prefix(value.uri, value.store or store, digest)


async def _digest_literal(literal: Literal, store: BlobStore | None, digest: Any) -> None:
    match literal.kind:
        case "blob":
            from wingspan.core.model.literals import BlobDimensionality

            multipart = literal.value.type is not None and \
                literal.value.type.dimensionality == BlobDimensionality.MULTIPART
            digest.update(b"dir:" if multipart else b"file:")
            local = _local_path(literal.value.uri, store)
            if local is not None:
                await anyio.to_thread.run_sync(_digest_tree if multipart else _digest_path, local, digest)
            elif multipart:
                await _digest_prefix(literal.value.uri, store, digest)
            else:
                await _digest_object(literal.value.uri, store, digest)
        case "structured_dataset":
            from wingspan.core.types.frames import read_parquet

            uri = literal.value.uri
            await _digest_table(await read_parquet(_need(store, uri), uri), digest)
        case "collection":
            digest.update(b"[")
            for item in literal.value.literals:
                await _digest_literal(item, store, digest)
                digest.update(b",")
        case "map":
            digest.update(b"{")
            for key in sorted(literal.value.literals):
                digest.update(repr(key).encode())
                await _digest_literal(literal.value.literals[key], store, digest)
        case "union":
            await _digest_literal(literal.value.value, store, digest)
        case _:
            from wingspan.core.model import codec

            digest.update(codec.encode(literal))


def _local_path(uri: str, store: BlobStore | None) -> Path | None:
    """A file:// location outside the store (a local run's own file): read in place."""
    if not uri.startswith("file://") or (store is not None and uri.startswith(store.root)):
        return None
    from urllib.parse import unquote, urlparse

    return Path(unquote(urlparse(uri).path))


def _need(store: BlobStore | None, uri: str) -> BlobStore:
    if store is None:
        raise ValueError(f"{uri} cannot be read for its cache key: no blob store")
    return store


async def _digest_object(uri: str, store: BlobStore | None, digest: Any) -> None:
    async for chunk in _need(store, uri).stream(uri, chunk_size=_CHUNK):
        digest.update(chunk)


async def _digest_prefix(uri: str, store: BlobStore | None, digest: Any) -> None:
    from wingspan.core.storage.uris import relative_key

    source = _need(store, uri)
    prefix = uri.rstrip("/") + "/"
    found = sorted([item async for item in source.list_prefix(prefix)])
    for item in found:
        digest.update(relative_key(prefix, item).encode() + b"\0")
        await _digest_object(item, source, digest)


def _digest_path(path: Path, digest: Any) -> None:
    with open(path, "rb") as data:
        while chunk := data.read(_CHUNK):
            digest.update(chunk)


def _digest_tree(root: Path, digest: Any) -> None:
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        _digest_path(path, digest)


def _as_arrow(frame: Any) -> pa.Table:
    import pyarrow as pa

    if isinstance(frame, pa.Table):
        return frame
    return pa.Table.from_pandas(frame)


async def _digest_table(table: pa.Table, digest: Any) -> None:
    import pyarrow as pa

    def write() -> None:
        sink = pa.BufferOutputStream()
        # without the schema's metadata (pandas' index notes): the data and its types decide
        combined = table.combine_chunks().replace_schema_metadata(None)
        with pa.ipc.new_stream(sink, combined.schema) as writer:
            writer.write_table(combined)
        digest.update(memoryview(sink.getvalue()))

    await anyio.to_thread.run_sync(write)
