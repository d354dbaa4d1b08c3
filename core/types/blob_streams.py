"""Streaming a stored file from synchronous task code: ``File.open("rb")`` reads it chunk by
chunk from the blob store, ``open("wb")`` on a ``File.new_remote`` writes it part by part
(multipart on S3), and ``Directory.crawl`` lists a folder page by page; none of them holds
the whole file or listing on this machine.

The blob stores are async and an S3 store belongs to the event loop it was first used on,
so each stream runs its store calls on the loop whose worker thread runs the task (a
worker's, a local run's), or else on a loop of its own in a helper thread (a task run on
the loop's own thread, or in a forked child).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import io
from collections.abc import AsyncIterator, Coroutine, Iterator
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any, TypeVar

import anyio
import anyio.from_thread

from wingspan.core.storage.interface import DEFAULT_CHUNK_SIZE

if TYPE_CHECKING:
    from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

    from wingspan.core.storage.interface import BlobStore

__all__ = ["StoreBridge", "iterate", "open_reader", "open_writer"]

T = TypeVar("T")

#: how many written chunks may wait for the upload before ``write`` waits for it
_QUEUED_CHUNKS = 4


class StoreBridge:
    """Runs one stream's store calls, and closes the store when the stream ends if it owns it."""

    def __init__(self, store: BlobStore, *, owns_store: bool) -> None:
        self.store = store
        self._owns_store = owns_store
        self._portal_cm: Any = None
        try:  # a worker thread of a running loop: its calls go to that loop
            self._loop = anyio.from_thread.run_sync(asyncio.get_running_loop)
        except RuntimeError:
            self._portal_cm = anyio.from_thread.start_blocking_portal()
            portal = self._portal_cm.__enter__()
            self._loop = portal.call(asyncio.get_running_loop)

    def submit(self, work: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        return asyncio.run_coroutine_threadsafe(work, self._loop)

    def call(self, work: Coroutine[Any, Any, T]) -> T:
        return self.submit(work).result()

    def close(self) -> None:
        try:
            if self._owns_store:
                self.call(self.store.aclose())
        finally:
            if self._portal_cm is not None:
                portal_cm, self._portal_cm = self._portal_cm, None
                portal_cm.__exit__(None, None, None)


class _Reader(io.RawIOBase):
    """The bytes of one stored object, fetched a chunk at a time as they are read."""

    def __init__(self, bridge: StoreBridge, uri: str, chunk_size: int) -> None:
        self._bridge, self._uri, self._chunk_size = bridge, uri, chunk_size
        self._chunks: AsyncIterator[bytes] | None = None
        self._pending = memoryview(b"")
        self._ended = False

    def readable(self) -> bool:
        return True

    async def _next_chunk(self) -> bytes:
        if self._chunks is None:
            self._chunks = self._bridge.store.stream(self._uri, chunk_size=self._chunk_size)
        try:
            return await anext(self._chunks)
        except StopAsyncIteration:
            return b""

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            if self._ended:
                return 0
            chunk = self._bridge.call(self._next_chunk())
            if not chunk:
                self._ended = True
                return 0
            self._pending = memoryview(chunk)
        count = min(len(buffer), len(self._pending))
        buffer[:count] = self._pending[:count]
        self._pending = self._pending[count:]
        return count

    def close(self) -> None:
        if not self.closed:
            try:
                chunks = self._chunks
                if chunks is not None and hasattr(chunks, "aclose"):
                    self._bridge.call(chunks.aclose())
            finally:
                self._bridge.close()
        super().close()


class _Aborted(Exception):
    """Ends an upload whose writer was left by an exception: nothing is stored."""


class _Writer(io.RawIOBase):
    """Bytes written go to the store as they come; the object appears whole when closed."""

    def __init__(self, bridge: StoreBridge, uri: str) -> None:
        self._bridge, self._uri = bridge, uri
        self._aborted = False

        async def channel() -> tuple[MemoryObjectSendStream[bytes | None],
                                     MemoryObjectReceiveStream[bytes | None]]:
            return anyio.create_memory_object_stream[bytes | None](_QUEUED_CHUNKS)

        self._send, receive = bridge.call(channel())
        self._upload = bridge.submit(self._put(receive))

    async def _put(self, receive: MemoryObjectReceiveStream[bytes | None]) -> int:
        async def chunks() -> AsyncIterator[bytes]:
            async for chunk in receive:
                if chunk is None:
                    raise _Aborted
                yield chunk

        with receive:  # closed when the upload ends, so a writer never waits on a failed one
            return await self._bridge.store.put(self._uri, chunks())

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        if self._aborted or not chunk:
            return len(chunk)
        try:
            self._bridge.call(self._send.send(chunk))
        except (anyio.BrokenResourceError, anyio.ClosedResourceError):
            self._upload.result()  # raises why the upload stopped
            raise
        return len(chunk)

    def abort(self) -> None:
        """Ends the upload storing nothing (the writing code failed)."""
        self._aborted = True

    def close(self) -> None:
        if not self.closed:
            try:
                if self._aborted:
                    with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError):
                        self._bridge.call(self._send.send(None))
                self._bridge.call(self._send.aclose())
                if self._aborted:
                    with contextlib.suppress(_Aborted):
                        self._upload.result()
                else:
                    self._upload.result()
            finally:
                self._bridge.close()
        super().close()


class _BinaryWriter(io.BufferedWriter):
    """Left by an exception, it stores nothing rather than a partial file."""

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if kind is not None:
            raw = self.raw
            assert isinstance(raw, _Writer)
            raw.abort()
        super().__exit__(kind, exc, tb)


class _TextWriter(io.TextIOWrapper):
    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if kind is not None:
            raw = self.buffer.raw  # type: ignore[attr-defined]  # a _BinaryWriter's
            assert isinstance(raw, _Writer)
            raw.abort()
        super().__exit__(kind, exc, tb)


def _text_options(mode: str, kwargs: dict[str, Any], what: str) -> dict[str, Any]:
    allowed = {"encoding", "errors", "newline"}
    unknown = sorted(set(kwargs) - allowed - {"buffering"})
    if unknown:
        raise TypeError(f"{what}.open({mode!r}) takes {', '.join(sorted(allowed))} and buffering, "
                        f"not {', '.join(unknown)}")
    if "b" in mode and set(kwargs) & allowed:
        raise ValueError(f"{what}.open({mode!r}): a binary mode takes no encoding, errors or newline")
    return {k: v for k, v in kwargs.items() if k in allowed}


def open_reader(bridge: StoreBridge, uri: str, mode: str, kwargs: dict[str, Any]) -> IO[Any]:
    """``uri`` opened for reading in ``mode`` ("r" or "rb")."""
    options = _text_options(mode, kwargs, "File")
    buffering = int(kwargs.get("buffering", -1))
    chunk = DEFAULT_CHUNK_SIZE if buffering <= 0 else buffering
    reader = io.BufferedReader(_Reader(bridge, uri, chunk), buffer_size=chunk)
    if "b" in mode:
        return reader
    return io.TextIOWrapper(reader, **options)


def open_writer(bridge: StoreBridge, uri: str, mode: str, kwargs: dict[str, Any]) -> IO[Any]:
    """``uri`` opened for writing in ``mode`` ("w" or "wb")."""
    options = _text_options(mode, kwargs, "File")
    buffering = int(kwargs.get("buffering", -1))
    writer = _BinaryWriter(_Writer(bridge, uri),
                           buffer_size=DEFAULT_CHUNK_SIZE if buffering <= 0 else buffering)
    if "b" in mode:
        return writer
    return _TextWriter(writer, **options)


def iterate(bridge: StoreBridge, items: AsyncIterator[T]) -> Iterator[T]:
    """The items of an async iterator, fetched one by one as the caller asks."""

    async def next_item() -> tuple[bool, T | None]:
        try:
            return True, await anext(items)
        except StopAsyncIteration:
            return False, None

    try:
        while True:
            more, item = bridge.call(next_item())
            if not more:
                return
            yield item  # type: ignore[misc]  # an item when there is more
    finally:
        try:
            if hasattr(items, "aclose"):
                bridge.call(items.aclose())
        finally:
            bridge.close()

