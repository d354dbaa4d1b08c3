"""The local folder blob store: one file per object below a root folder.

Writes go to a temporary file beside the target (``.wingspan-tmp-*``), are
flushed to disk, then renamed over it, so a crash leaves the old object or the new
one, never half of one; listings skip those temporary files. Presigned URLs are
HMAC-signed URLs to the server's HTTP port (see :mod:`wingspan.core.storage.signing`).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import stat
import tempfile
from collections.abc import AsyncIterable, AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import BinaryIO, final

import anyio
import anyio.to_thread

from wingspan.core.errors import (
    AlreadyExistsError,
    ConfigError,
    InvalidArgumentError,
    NotFoundError,
    ResourceExhaustedError,
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
    discard_file,
)
from wingspan.core.storage.signing import UrlSigner
from wingspan.core.storage.uris import BlobUri, InvalidUriError

__all__ = ["TEMP_PREFIX", "BodyTooLargeError", "LocalBlobStore"]

#: name prefix of the files a write is prepared in; never an object of its own
TEMP_PREFIX = ".wingspan-tmp-"
_COPY_BUFFER = 1024 * 1024


class BodyTooLargeError(ResourceExhaustedError):
    """An upload's body went past the size its URL allows (nothing of it was kept)."""

    @classmethod
    def over(cls, what: str, limit: int) -> BodyTooLargeError:
        return cls(f"{what} is over the limit of {limit} bytes this URL allows (settings "
                   "max_bundle_upload_bytes for code bundles, max_data_upload_bytes for data)")


@contextlib.contextmanager
def _translated(uri: BlobUri | str, action: str) -> Iterator[None]:
    """The one place where filesystem errors become platform errors."""
    try:
        yield
    except WingspanError:
        raise
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError) as exc:
        raise NotFoundError(f"no blob at {uri}") from exc
    except OSError as exc:
        raise StorageError(f"cannot {action} {uri}: {exc}") from exc


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@final
class LocalBlobStore(BlobStore):
    """Blobs as files below a folder (``file://`` URIs)."""

    scheme = "file"

    def __init__(self, root: str | Path, *, signer: UrlSigner | None = None) -> None:
        super().__init__(root.resolve().as_uri() if isinstance(root, Path) else root)
        self._signer = signer

    @property
    def folder(self) -> Path:
        """The root folder."""
        return Path(self._root.path)

    def path_for(self, uri: str) -> Path:
        """The file that holds (or would hold) the object at ``uri``."""
        parsed = self._object(uri)
        if any(part.startswith(TEMP_PREFIX) for part in parsed.key.split("/")):
            raise InvalidUriError(f"blob names may not start with {TEMP_PREFIX!r}: {uri}")
        return Path(parsed.path)

    def uri_for_key(self, key: str) -> str:
        """The URI of ``key`` below the root (the inverse of :meth:`key_of`)."""
        return self.uri(key)

    # ---- writing -------------------------------------------------------------------------

    async def put(self, uri: str, data: BlobSource) -> int:
        target = self.path_for(uri)
        check_source(data, uri)
        with _translated(uri, "write"):
            if isinstance(data, bytes | bytearray | memoryview):
                payload = bytes(data)
                return await anyio.to_thread.run_sync(self._write_atomic, target, payload)
            if isinstance(data, os.PathLike):
                return await anyio.to_thread.run_sync(self._write_atomic, target, Path(data))
            return await self._write_stream(target, data)

    def _write_atomic(self, target: Path, source: bytes | Path) -> int:
        with self._temp_beside(target) as out:
            if isinstance(source, Path):
                try:
                    with source.open("rb") as src:
                        shutil.copyfileobj(src, out, _COPY_BUFFER)
                except FileNotFoundError as exc:
                    raise NotFoundError(f"no local file {source} to upload to {target}") from exc
            else:
                out.write(source)
            return out.tell()

    @contextlib.contextmanager
    def _temp_beside(self, target: Path) -> Iterator[BinaryIO]:
        """A temporary file that replaces ``target`` when the block ends without error."""
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as out:
                yield out
                out.flush()
                os.fsync(out.fileno())
            os.chmod(tmp, 0o644)
            os.replace(tmp, target)
        except BaseException:
            discard_file(tmp)
            raise
        _fsync_dir(target.parent)

    async def _write_stream(self, target: Path, chunks: AsyncIterable[bytes]) -> int:
        await anyio.to_thread.run_sync(lambda: target.parent.mkdir(parents=True, exist_ok=True))
        fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=target.parent)
        size = 0
        try:
            async with await anyio.open_file(fd, "wb", closefd=True) as out:
                async for chunk in chunks:
                    await out.write(chunk)
                    size += len(chunk)
                await out.flush()
                await anyio.to_thread.run_sync(os.fsync, fd)
            await anyio.to_thread.run_sync(os.chmod, tmp, 0o644)
            await anyio.to_thread.run_sync(os.replace, tmp, target)
        except BaseException:
            discard_file(tmp)
            raise
        await anyio.to_thread.run_sync(_fsync_dir, target.parent)
        return size

    async def put_once(self, uri: str, chunks: AsyncIterable[bytes], *, max_bytes: int | None = None,
                       md5: str | None = None) -> bool:
        """Stores a streamed upload at ``uri`` unless an object is there already (write-once):
        True when stored, False when the very same bytes were there. Raises AlreadyExistsError
        when other bytes are, BodyTooLargeError as soon as the body passes ``max_bytes`` (never
        buffering the rest), InvalidArgumentError when its MD5 is not ``md5`` (hex); in each
        case nothing of the body is kept."""
        target = self.path_for(uri)
        with _translated(uri, "write"):
            await anyio.to_thread.run_sync(lambda: target.parent.mkdir(parents=True, exist_ok=True))
            fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=target.parent)
            try:
                sha256, md5_of, size = hashlib.sha256(), hashlib.md5(), 0
                async with await anyio.open_file(fd, "wb", closefd=True) as out:
                    async for chunk in chunks:
                        size += len(chunk)
                        if max_bytes is not None and size > max_bytes:
                            raise BodyTooLargeError.over(f"the upload to {uri}", max_bytes)
                        sha256.update(chunk)
                        md5_of.update(chunk)
                        await out.write(chunk)
                    await out.flush()
                    await anyio.to_thread.run_sync(os.fsync, fd)
                if md5 is not None and md5_of.hexdigest() != md5:
                    raise InvalidArgumentError(
                        f"the upload to {uri} has MD5 {md5_of.hexdigest()}, but its location was issued "
                        f"for content with MD5 {md5}: upload the bytes the location was asked for")
                await anyio.to_thread.run_sync(os.chmod, tmp, 0o644)
                return await anyio.to_thread.run_sync(self._link_once, tmp, target, sha256.hexdigest(), uri)
            finally:
                discard_file(tmp)

    @staticmethod
    def _link_once(tmp: str, target: Path, sha256: str, uri: str) -> bool:
        try:
            os.link(tmp, target)  # atomic, and refuses to replace: of two racing uploads one wins
        except FileExistsError:
            with target.open("rb") as existing:
                there = hashlib.file_digest(existing, "sha256").hexdigest()
            if there != sha256:
                raise AlreadyExistsError(
                    f"{uri} holds other content already: uploads are write-once, so a second upload "
                    "to one location must carry the same bytes (ask for a new location for new "
                    "content)") from None
            return False
        _fsync_dir(target.parent)
        return True

    # ---- reading -------------------------------------------------------------------------

    async def stream(self, uri: str, *, chunk_size: int = DEFAULT_CHUNK_SIZE) -> AsyncIterator[bytes]:
        path = self.path_for(uri)
        with _translated(uri, "read"):
            async with await anyio.open_file(path, "rb") as src:
                while chunk := await src.read(chunk_size):
                    yield chunk

    async def get(self, uri: str) -> bytes:
        path = self.path_for(uri)
        with _translated(uri, "read"):
            return await anyio.to_thread.run_sync(path.read_bytes)

    async def download_file(self, uri: str, path: str | os.PathLike[str]) -> int:
        source, target = self.path_for(uri), Path(path)
        with _translated(uri, "download"):
            if not source.is_file():
                raise NotFoundError(f"no blob at {uri}")
            return await anyio.to_thread.run_sync(self._write_atomic, target, source)

    async def stat(self, uri: str) -> BlobInfo:
        path = self.path_for(uri)
        with _translated(uri, "stat"):
            st = await anyio.to_thread.run_sync(os.stat, path)
            if not stat.S_ISREG(st.st_mode):
                raise NotFoundError(f"no blob at {uri} (a folder is there)")
        modified = datetime.fromtimestamp(st.st_mtime, UTC)
        return BlobInfo(uri=uri, size=st.st_size, modified=modified,
                        etag=f"{st.st_mtime_ns:x}-{st.st_size:x}")

    async def list_prefix(self, prefix: str) -> AsyncIterator[str]:
        parsed = self._prefix(prefix)
        with _translated(prefix, "list"):
            keys = await anyio.to_thread.run_sync(self._scan, parsed.key)
        for key in keys:
            yield str(BlobUri("file", "", key))

    @staticmethod
    def _scan(prefix_key: str) -> list[str]:
        """Keys of all files whose key starts with ``prefix_key``, sorted like S3 (by bytes)."""
        head, _, _ = prefix_key.rpartition("/")
        folder = "/" + head
        if not os.path.isdir(folder):
            return []
        found: list[str] = []
        for dirpath, dirnames, filenames in os.walk(folder):
            rel = dirpath[1:]  # key form: no leading slash
            base = rel + "/" if rel else ""
            # prune subtrees that cannot match
            dirnames[:] = [d for d in dirnames if _could_match(base + d + "/", prefix_key)]
            for name in filenames:
                key = base + name
                if key.startswith(prefix_key) and not name.startswith(TEMP_PREFIX):
                    found.append(key)
        found.sort(key=lambda k: k.encode("utf-8", "surrogateescape"))
        return found

    # ---- deleting ------------------------------------------------------------------------

    async def delete(self, uri: str, *, missing_ok: bool = False) -> None:
        path = self.path_for(uri)
        try:
            with _translated(uri, "delete"):
                await anyio.to_thread.run_sync(path.unlink)
        except NotFoundError:
            if not missing_ok:
                raise
            return
        await anyio.to_thread.run_sync(self._prune, path.parent)

    async def delete_prefix(self, prefix: str) -> int:
        count = 0
        async for uri in self.list_prefix(prefix):
            await self.delete(uri, missing_ok=True)
            count += 1
        return count

    def _prune(self, folder: Path) -> None:
        """Removes folders emptied by a delete, up to (not including) the root."""
        root = self.folder
        while folder != root and root in folder.parents:
            try:
                folder.rmdir()
            except OSError:
                return
            folder = folder.parent

    # ---- sharing -------------------------------------------------------------------------

    async def presigned_url(self, uri: str, *, method: Method = "GET",
                            expires_in: timedelta = timedelta(hours=1), max_bytes: int | None = None) -> str:
        if self._signer is None:
            raise ConfigError(
                f"{self!r} has no URL signer: open it with open_blob_store(settings) to get "
                "URLs that the server's HTTP port serves"
            )
        self.path_for(uri)  # validates the name
        return self._signer.sign(self.key_of(uri), method=method, expires_in=expires_in,
                                 max_bytes=max_bytes if method == "PUT" else None)


def _could_match(folder_key: str, prefix_key: str) -> bool:
    """Whether a file below ``folder_key`` (ending in ``/``) can start with ``prefix_key``."""
    return folder_key.startswith(prefix_key) or prefix_key.startswith(folder_key)
