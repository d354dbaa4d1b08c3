"""What the object stores on HTTP do with a :data:`BlobSource`: read it as chunks, regrouped into
parts of one size, so an upload holds one part in memory at a time whatever it was given."""

from __future__ import annotations

import os
from collections.abc import AsyncIterable, AsyncIterator

import anyio

from wingspan.core.errors import NotFoundError
from wingspan.core.storage.interface import BlobSource, check_source

__all__ = ["parts_of"]


async def _slices(data: memoryview, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield bytes(data[start:start + size])


async def _file_chunks(path: str, size: int) -> AsyncIterator[bytes]:
    async with await anyio.open_file(path, "rb") as src:
        while chunk := await src.read(size):
            yield chunk


async def parts_of(data: BlobSource, uri: str, part_size: int) -> AsyncIterator[tuple[bytes, bool]]:
    """Yields ``(part, is_last)``: every part but the last is exactly ``part_size`` bytes; an
    empty source yields one empty last part. Raises TypeError for what is not a BlobSource and
    NotFoundError for a local file that is not there."""
    check_source(data, uri)
    source: AsyncIterable[bytes]
    if isinstance(data, bytes | bytearray | memoryview):
        source = _slices(memoryview(data), part_size)
    elif isinstance(data, os.PathLike):
        if not await anyio.Path(data).is_file():
            raise NotFoundError(f"no local file {os.fspath(data)} to upload to {uri}")
        source = _file_chunks(os.fspath(data), part_size)
    else:
        source = data
    buffer = bytearray()
    full: bytes | None = None  # a full part held back until we know whether more follows
    async for chunk in source:
        buffer += chunk
        while len(buffer) >= part_size:
            if full is not None:
                yield full, False
            full = bytes(buffer[:part_size])
            del buffer[:part_size]
    if full is not None:
        if not buffer:
            yield full, True
            return
        yield full, False
    yield bytes(buffer), True
