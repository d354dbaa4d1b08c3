"""The blob store interface: what the engine, the type engine and the server need of storage.

Every method is async and names blobs by URI (``file:///abs/path``, ``s3://bucket/key``,
``abfs://container/key`` or ``gs://bucket/key``) below the store's ``root``. A missing object
raises :class:`~wingspan.core.errors.NotFoundError` naming the URI; any other failure of
the backend raises :class:`~wingspan.core.errors.StorageError` with the cause
chained. Implementations: :class:`~wingspan.core.storage.local.LocalBlobStore`
(a folder), ``wingspan.core.storage.s3.S3BlobStore`` (S3 or MinIO),
``wingspan.core.storage.azure.AzureBlobStore`` and ``wingspan.core.storage.gcs.GcsBlobStore``
(the object stores imported on first use). A store holds connections: use it as
``async with`` or call :meth:`BlobStore.aclose`.
"""

from __future__ import annotations

import abc
import contextlib
import dataclasses
import os
import tempfile
from collections.abc import AsyncIterable, AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import ClassVar, Literal, Self

import anyio

from wingspan.core.errors import NotFoundError, StorageError
from wingspan.core.storage.uris import BlobUri, InvalidUriError, Scheme, parse_uri, relative_key

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "BlobInfo",
    "BlobSource",
    "BlobStore",
    "Method",
    "check_source",
    "discard_file",
]

#: bytes per chunk that :meth:`BlobStore.stream` yields unless told otherwise
DEFAULT_CHUNK_SIZE = 1024 * 1024

#: what :meth:`BlobStore.put` accepts: the bytes, an async iterable of chunks, or a local file
BlobSource = bytes | bytearray | memoryview | AsyncIterable[bytes] | os.PathLike[str]

Method = Literal["GET", "PUT"]


def check_source(data: object, uri: str) -> None:
    """Raises TypeError, listing what is accepted, unless ``data`` is a :data:`BlobSource`."""
    if not isinstance(data, bytes | bytearray | memoryview | os.PathLike | AsyncIterable):
        raise TypeError(
            f"cannot store a {type(data).__name__} at {uri}: pass bytes, an async iterable of "
            "bytes chunks, or a pathlib.Path of a local file"
        )


def discard_file(path: str) -> None:
    """Removes a temporary file if it is there (quick enough to run on the event loop)."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


@dataclasses.dataclass(frozen=True, slots=True)
class BlobInfo:
    """Facts about one stored object."""

    uri: str
    size: int
    modified: datetime  # aware, UTC
    etag: str = ""


class BlobStore(abc.ABC):
    """Async object storage below one root URI."""

    #: the URI scheme this implementation serves
    scheme: ClassVar[Scheme]

    def __init__(self, root: str) -> None:
        parsed = parse_uri(root, prefix=True)
        if parsed.scheme != self.scheme:
            raise InvalidUriError(
                f"{type(self).__name__} serves {self.scheme}:// URIs, not {root!r}"
            )
        # canonical: no trailing slash, except for a bucket or the filesystem root
        self._root = dataclasses.replace(parsed, key=parsed.key.rstrip("/"))

    async def ensure_bucket(self) -> None:  # noqa: B027 (optional: most stores have nothing to create)
        """Creates what the root lies in (an S3 bucket) unless it exists; the server calls it
        once at start. By default there is nothing to create (a folder is made on first write)."""

    @property
    def root(self) -> str:
        """The root URI; every blob of this store lies below it."""
        return str(self._root)

    def uri(self, *parts: str) -> str:
        """The URI of ``parts`` below the root: ``store.uri("runs", "r1", "out.pb")``."""
        return str(self._root.child(*parts))

    def key_of(self, uri: str) -> str:
        """The key of ``uri`` relative to the root (what signed URLs carry)."""
        return relative_key(self._root, self._object(uri))

    def _object(self, uri: str) -> BlobUri:
        """Parses a URI that must name one object below the root."""
        parsed = parse_uri(uri)
        relative_key(self._root, parsed)  # raises if outside
        return parsed

    def _prefix(self, uri: str) -> BlobUri:
        """Parses a URI that may also name a folder or key prefix below the root."""
        parsed = parse_uri(uri, prefix=True)
        relative_key(self._root, parsed)
        return parsed

    # ---- writing -------------------------------------------------------------------------

    @abc.abstractmethod
    async def put(self, uri: str, data: BlobSource) -> int:
        """Stores ``data`` at ``uri``, replacing what was there; returns the bytes written.

        Readers never see a partial object: it appears whole or not at all.
        """

    async def upload_file(self, path: str | os.PathLike[str], uri: str) -> int:
        """Stores the local file ``path`` at ``uri``."""
        return await self.put(uri, Path(path))

    # ---- reading -------------------------------------------------------------------------

    @abc.abstractmethod
    def stream(self, uri: str, *, chunk_size: int = DEFAULT_CHUNK_SIZE) -> AsyncIterator[bytes]:
        """Yields the object's bytes in chunks of at most ``chunk_size``."""

    async def get(self, uri: str) -> bytes:
        """The whole object, in memory."""
        return b"".join([chunk async for chunk in self.stream(uri)])

    async def download_file(self, uri: str, path: str | os.PathLike[str]) -> int:
        """Writes the object to the local file ``path`` (atomically); returns its size."""
        target = Path(path)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
        except OSError as exc:
            raise StorageError(f"cannot write {target} for {uri}: {exc}") from exc
        size = 0
        try:
            async with await anyio.open_file(fd, "wb", closefd=True) as out:
                async for chunk in self.stream(uri):
                    await out.write(chunk)
                    size += len(chunk)
            await anyio.to_thread.run_sync(os.replace, tmp, target)
        except BaseException as exc:
            discard_file(tmp)
            if isinstance(exc, OSError) and not isinstance(exc, StorageError):
                raise StorageError(f"cannot write {target} for {uri}: {exc}") from exc
            raise
        return size

    @abc.abstractmethod
    async def stat(self, uri: str) -> BlobInfo:
        """Size, modification time and etag of the object."""

    async def size(self, uri: str) -> int:
        """The object's size in bytes."""
        return (await self.stat(uri)).size

    async def exists(self, uri: str) -> bool:
        """Whether an object is stored at ``uri``."""
        try:
            await self.stat(uri)
        except NotFoundError:
            return False
        return True

    @abc.abstractmethod
    def list_prefix(self, prefix: str) -> AsyncIterator[str]:
        """Yields, in key order, the URI of every object whose URI starts with ``prefix``.

        Like S3, this matches text, not folders: ``.../a`` matches ``.../a/x`` and
        ``.../ab``; end the prefix with ``/`` to list one folder's tree.
        """

    # ---- deleting ------------------------------------------------------------------------

    @abc.abstractmethod
    async def delete(self, uri: str, *, missing_ok: bool = False) -> None:
        """Deletes the object; NotFoundError if there is none, unless ``missing_ok``."""

    @abc.abstractmethod
    async def delete_prefix(self, prefix: str) -> int:
        """Deletes every object that :meth:`list_prefix` yields; returns how many."""

    async def _delete_listed(self, prefix: str, *, concurrency: int) -> int:
        """:meth:`delete_prefix` for stores whose API deletes one object per request (Azure,
        GCS): the listed objects, ``concurrency`` requests at a time."""
        uris = [uri async for uri in self.list_prefix(prefix)]
        limit = anyio.Semaphore(concurrency)

        async def delete(uri: str) -> None:
            async with limit:
                await self.delete(uri, missing_ok=True)

        async with anyio.create_task_group() as group:
            for uri in uris:
                group.start_soon(delete, uri)
        return len(uris)

    # ---- sharing -------------------------------------------------------------------------

    @abc.abstractmethod
    async def presigned_url(self, uri: str, *, method: Method = "GET",
                            expires_in: timedelta = timedelta(hours=1), max_bytes: int | None = None) -> str:
        """A URL with which a plain HTTP client may GET or PUT the object until it expires.

        ``max_bytes`` bounds an upload's body where the store can enforce it on the URL itself
        (the local folder store's signed URLs); an S3 presigned PUT cannot carry a size limit,
        so there the limit is checked where the object is used (a bundle at registration)."""

    def upload_headers(self) -> dict[str, str]:
        """Headers a client must send with a PUT to a presigned URL of this store (Azure's
        ``x-ms-blob-type``); none for most stores."""
        return {}

    # ---- lifetime ------------------------------------------------------------------------

    def environment(self) -> dict[str, str]:
        """``WINGSPAN_*`` variables with which a child process (a task's worker) opens this same
        store through its settings; empty when the root alone says it all (a local folder)."""
        return {}

    async def aclose(self) -> None:  # noqa: B027 - optional hook, a no-op by default
        """Releases connections; the store may not be used afterwards."""

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.root!r})"
