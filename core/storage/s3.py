"""The S3 blob store (AWS S3, MinIO, any S3-compatible service) on miniopy-async.

This module imports miniopy-async and aiohttp, so nothing imports it until an
``s3://`` store is opened (:func:`wingspan.core.storage.open_blob_store`).

One aiohttp session per store, made on first use, serves every call; like any
aiohttp session it belongs to the event loop that made it, so open one store per
event loop and close it (``async with`` or :meth:`S3BlobStore.aclose`).
Objects larger than ``part_size`` are uploaded in parts (multipart upload), and a
stream of chunks is uploaded part by part as it arrives, holding one part in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
from collections.abc import AsyncIterable, AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any, final

import aiohttp
import anyio
from miniopy_async.api import Minio
from miniopy_async.deleteobjects import DeleteObject
from miniopy_async.error import MinioException, S3Error

from wingspan.core.config import Settings
from wingspan.core.errors import (
    ConfigError,
    FailedPreconditionError,
    NotFoundError,
    StorageError,
    WingspanError,
)
from wingspan.core.storage.interface import (
    DEFAULT_CHUNK_SIZE,
    BlobInfo,
    BlobSource,
    BlobStore,
    Method,
    check_source,
)
from wingspan.core.storage.uris import BlobUri

__all__ = ["DEFAULT_PART_SIZE", "S3BlobStore"]

#: objects above this size go up in parts of this size (S3 allows 5 MiB to 5 GiB)
DEFAULT_PART_SIZE = 16 * 1024 * 1024
_MIN_PART_SIZE = 5 * 1024 * 1024
_DELETE_BATCH = 1000
_NOT_FOUND_CODES = frozenset({"NoSuchKey", "NoSuchBucket", "NoSuchUpload"})


@contextlib.asynccontextmanager
async def _translated(uri: BlobUri | str, action: str) -> AsyncIterator[None]:
    """The one place where S3, HTTP and socket errors become platform errors."""
    try:
        yield
    except WingspanError:
        raise
    except S3Error as exc:
        if exc.code == "NoSuchBucket":
            raise NotFoundError(f"no blob at {uri}: the bucket does not exist") from exc
        if exc.code in _NOT_FOUND_CODES:
            raise NotFoundError(f"no blob at {uri}") from exc
        raise StorageError(f"S3 could not {action} {uri}: {exc.code}: {exc.message}") from exc
    except (MinioException, aiohttp.ClientError, OSError, TimeoutError) as exc:
        raise StorageError(f"S3 could not {action} {uri}: {type(exc).__name__}: {exc}") from exc


async def _slices(data: memoryview, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield bytes(data[start:start + size])


async def _file_chunks(path: str, size: int) -> AsyncIterator[bytes]:
    async with await anyio.open_file(path, "rb") as src:
        while chunk := await src.read(size):
            yield chunk


def _split_endpoint(endpoint: str, secure: bool) -> tuple[str, bool]:
    """``http://host:port`` or ``host:port`` -> (``host:port``, use TLS)."""
    scheme, sep, rest = endpoint.partition("://")
    if not sep:
        return endpoint.rstrip("/"), secure
    if scheme not in ("http", "https"):
        raise ConfigError(f"s3_endpoint {endpoint!r} must start with http:// or https://")
    return rest.rstrip("/"), scheme == "https"


@final
class S3BlobStore(BlobStore):
    """Blobs as objects in one S3 bucket, below an optional key prefix."""

    scheme = "s3"

    def __init__(self, root: str, *, endpoint: str, access_key: str = "", secret_key: str = "",
                 region: str = "us-east-1", secure: bool = False,
                 part_size: int = DEFAULT_PART_SIZE) -> None:
        super().__init__(root)
        if part_size < _MIN_PART_SIZE:
            raise ConfigError(f"part_size must be at least 5 MiB, not {part_size}")
        self._endpoint, self._secure = _split_endpoint(endpoint or "s3.amazonaws.com", secure)
        self._access_key = access_key or None
        self._secret_key = secret_key or None
        self._region = region or None
        self.part_size = part_size
        self._client: Minio | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def environment(self) -> dict[str, str]:
        return {
            "WINGSPAN_S3_ENDPOINT": self._endpoint, "WINGSPAN_S3_ACCESS_KEY": self._access_key or "",
            "WINGSPAN_S3_SECRET_KEY": self._secret_key or "", "WINGSPAN_S3_REGION": self._region or "",
            "WINGSPAN_S3_SECURE": "true" if self._secure else "false",
        }

    @classmethod
    def from_settings(cls, settings: Settings, *, root: str | None = None) -> S3BlobStore:
        """A store on ``settings.s3_*`` rooted at ``root`` (default ``settings.storage_root``)."""
        return cls(
            root or settings.storage_root, endpoint=settings.s3_endpoint,
            access_key=settings.s3_access_key, secret_key=settings.s3_secret_key,
            region=settings.s3_region, secure=settings.s3_secure,
        )

    @property
    def bucket(self) -> str:
        return self._root.bucket

    def _client_for_loop(self) -> Minio:
        loop = asyncio.get_running_loop()
        if self._client is None:
            self._client = Minio(
                self._endpoint, access_key=self._access_key, secret_key=self._secret_key,
                region=self._region, secure=self._secure,
            )
            self._loop = loop
        elif self._loop is not loop:
            raise FailedPreconditionError(
                f"{self!r} was first used on another event loop; its HTTP session belongs "
                "there: open one store per event loop"
            )
        return self._client

    async def aclose(self) -> None:
        client, self._client, self._loop = self._client, None, None
        if client is not None:
            await client.close_session()  # type: ignore[no-untyped-call]  # untyped upstream

    async def ensure_bucket(self) -> None:
        """Creates the root's bucket unless it exists."""
        client = self._client_for_loop()
        async with _translated(self.root, "create the bucket of"):
            if not await client.bucket_exists(self.bucket):
                try:
                    await client.make_bucket(self.bucket, location=self._region)
                except S3Error as exc:
                    if exc.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                        raise

    # ---- writing -------------------------------------------------------------------------

    async def put(self, uri: str, data: BlobSource) -> int:
        target = self._object(uri)
        check_source(data, uri)
        client = self._client_for_loop()
        # every source goes through one path that hands miniopy-async a BytesIO per request
        # (raw bytes bodies over 1 MiB make aiohttp warn that they may block the loop)
        source: AsyncIterable[bytes]
        if isinstance(data, bytes | bytearray | memoryview):
            source = _slices(memoryview(data), self.part_size)
        elif isinstance(data, os.PathLike):
            if not await anyio.Path(data).is_file():
                raise NotFoundError(f"no local file {os.fspath(data)} to upload to {uri}")
            source = _file_chunks(os.fspath(data), self.part_size)
        else:
            source = data
        async with _translated(uri, "write"):
            return await self._put_stream(client, target, source)

    async def _put_stream(self, client: Minio, target: BlobUri,
                          chunks: AsyncIterable[bytes]) -> int:
        """Uploads in one request if it all fits in a part, else part by part as it arrives."""
        buffer = bytearray()
        uploader: Any = None  # miniopy's MultipartUploader, made when the first part is full
        part_number = 0
        total = 0
        try:
            async for chunk in chunks:
                buffer += chunk
                total += len(chunk)
                while len(buffer) >= self.part_size:
                    if uploader is None:
                        uploader = client.multipart_uploader(self.bucket, target.key)
                    part_number += 1
                    await uploader.upload_part(io.BytesIO(buffer[: self.part_size]), part_number)
                    del buffer[: self.part_size]
            if uploader is None:
                # part_size == length makes miniopy-async send one plain PUT
                await client.put_object(self.bucket, target.key, io.BytesIO(buffer),
                                        len(buffer), part_size=len(buffer))
                return total
            if buffer:
                part_number += 1
                await uploader.upload_part(io.BytesIO(buffer), part_number)
            await uploader.complete()
        except BaseException:
            if uploader is not None and part_number:
                with anyio.CancelScope(shield=True), contextlib.suppress(Exception):
                    await uploader.abort()
            raise
        return total

    # ---- reading -------------------------------------------------------------------------

    async def stream(self, uri: str, *, chunk_size: int = DEFAULT_CHUNK_SIZE) -> AsyncIterator[bytes]:
        target = self._object(uri)
        client = self._client_for_loop()
        async with _translated(uri, "read"):
            response = await client.get_object(self.bucket, target.key)
            try:
                async for chunk in response.content.iter_chunked(chunk_size):
                    yield chunk
            finally:
                response.release()

    async def get(self, uri: str) -> bytes:
        target = self._object(uri)
        client = self._client_for_loop()
        async with _translated(uri, "read"):
            response = await client.get_object(self.bucket, target.key)
            try:
                data: bytes = await response.read()
            finally:
                response.release()
            return data

    async def stat(self, uri: str) -> BlobInfo:
        target = self._object(uri)
        client = self._client_for_loop()
        async with _translated(uri, "stat"):
            obj = await client.stat_object(self.bucket, target.key)
        modified = obj.last_modified or datetime.now(UTC)
        return BlobInfo(uri=uri, size=int(obj.size or 0), modified=modified.astimezone(UTC),
                        etag=str(obj.etag or ""))

    async def list_prefix(self, prefix: str) -> AsyncIterator[str]:
        parsed = self._prefix(prefix)
        client = self._client_for_loop()
        async with _translated(prefix, "list"):
            async for obj in client.list_objects(self.bucket, prefix=parsed.key or None,
                                                 recursive=True):
                if obj.object_name and not obj.is_dir:
                    yield str(BlobUri("s3", self.bucket, obj.object_name))

    # ---- deleting ------------------------------------------------------------------------

    async def delete(self, uri: str, *, missing_ok: bool = False) -> None:
        target = self._object(uri)
        client = self._client_for_loop()
        if not missing_ok:
            await self.stat(uri)  # S3 deletes a missing key without complaint
        async with _translated(uri, "delete"):
            await client.remove_object(self.bucket, target.key)

    async def delete_prefix(self, prefix: str) -> int:
        keys = [self._object(uri).key async for uri in self.list_prefix(prefix)]
        client = self._client_for_loop()
        async with _translated(prefix, "delete objects below"):
            for start in range(0, len(keys), _DELETE_BATCH):
                batch = [DeleteObject(k) for k in keys[start:start + _DELETE_BATCH]]
                errors = [err async for err in client.remove_objects(self.bucket, batch)]
                if errors:
                    first = errors[0]
                    raise StorageError(
                        f"S3 could not delete {len(errors)} objects below {prefix}; first: "
                        f"{first.name}: {first.code}: {first.message}"
                    )
        return len(keys)

    # ---- sharing -------------------------------------------------------------------------

    async def presigned_url(self, uri: str, *, method: Method = "GET",
                            expires_in: timedelta = timedelta(hours=1), max_bytes: int | None = None) -> str:
        # a presigned PUT signs no Content-Length: max_bytes cannot be enforced here (see the
        # interface); a POST policy could, but the upload protocol hands clients one PUT URL
        target = self._object(uri)
        client = self._client_for_loop()
        async with _translated(uri, "presign"):
            if method == "GET":
                url: str = await client.presigned_get_object(self.bucket, target.key,
                                                             expires=expires_in)
            elif method == "PUT":
                url = await client.presigned_put_object(self.bucket, target.key,
                                                        expires=expires_in)
            else:
                raise ValueError(f"method must be GET or PUT, not {method!r}")
            return url
