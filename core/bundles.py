"""Code bundles on the running side: fetched once per version, checked, unpacked, put on sys.path.

A worker (a local process of the server, a pod) that runs a registered task needs the
code ``wingspan register`` uploaded. Bundles are immutable and named by their digest,
so one unpacked copy per URI serves every attempt; unpacking goes to a temporary
folder renamed into place, so a crash halfway leaves nothing that looks complete, and
two processes fetching the same bundle at once both end with the same folder.

A bundle is a caller's upload, so unpacking trusts nothing in it. One code path on every
Python version (3.11.0-3.11.3 have no ``extractall(filter=...)``), checking each member
before anything of it is written:

- names are relative, without ``..``, NUL or a backslash, and each appears once;
- members are regular files or folders only: no links (symbolic or hard), devices, FIFOs
  or sparse files; modes become 0644/0755 (no setuid, setgid or sticky bits);
- at most ``max_members`` members and ``max_bytes`` bytes in all, counted twice: the sizes
  the headers declare (refused before reading), and the bytes actually read from the
  decompressed stream, headers included (so a lying or padded archive, a gzip bomb,
  stops at the limit, never after writing past it).
"""

from __future__ import annotations

import contextlib
import dataclasses
import gzip
import hashlib
import io
import os
import shutil
import tarfile
import tempfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING

from wingspan.core.config import Settings
from wingspan.core.errors import InvalidArgumentError
from wingspan.core.storage.uploads import named_md5

if TYPE_CHECKING:
    from wingspan.core.storage.interface import BlobStore

__all__ = ["BundleLimits", "bundle_folder", "check_bundle", "fetch_bundle", "unpack_bundle"]

_COPY_CHUNK = 1024 * 1024
#: what the tar stream may hold beyond the files' bytes: a header block, padding and a
#: PAX record per member, generously
_OVERHEAD_PER_MEMBER = 4096
_FILE_TYPES = (tarfile.REGTYPE, tarfile.AREGTYPE)
#: what reading a damaged archive raises (gzip's BadGzipFile is an OSError; bad deflate data a zlib.error)
_DAMAGED = (tarfile.TarError, OSError, EOFError, zlib.error)
_DEFAULTS: dict[str, int] = {field.name: field.default for field in dataclasses.fields(Settings)
                              if isinstance(field.default, int)}


@dataclasses.dataclass(frozen=True, slots=True)
class BundleLimits:
    """How large a bundle may be: packed (``max_upload_bytes``) and unpacked."""

    max_bytes: int = _DEFAULTS["max_bundle_unpacked_bytes"]
    max_members: int = _DEFAULTS["max_bundle_members"]
    max_upload_bytes: int = _DEFAULTS["max_bundle_upload_bytes"]

    @classmethod
    def from_settings(cls, settings: Settings) -> BundleLimits:
        return cls(settings.max_bundle_unpacked_bytes, settings.max_bundle_members,
                   settings.max_bundle_upload_bytes)


class _BoundedStream(io.RawIOBase):
    """Reads the decompressed archive and refuses to give more than ``limit`` bytes in all."""

    def __init__(self, source: io.BufferedIOBase, limit: int, what: str) -> None:
        self._source, self._limit, self._what, self.count = source, limit, what, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self._source.read(min(len(buffer), self._limit - self.count + 1))
        self.count += len(data)
        if self.count > self._limit:
            raise InvalidArgumentError(
                f"{self._what} unpacks to more than {self._limit} bytes of archive (a compression "
                "bomb, or far past the setting max_bundle_unpacked_bytes): refused")
        buffer[:len(data)] = data
        return len(data)


def _check_member(member: tarfile.TarInfo, seen: set[str], what: str) -> str:
    """The member's normalised name, or InvalidArgumentError saying what is wrong with it."""
    name = member.name
    where = f"{what}: member {name[:200]!r}"
    if name.startswith("/") or "\\" in name or "\0" in name:
        raise InvalidArgumentError(f"{where} has an absolute or malformed name; bundles hold relative "
                                   "POSIX paths (rebuild it with `wingspan register`)")
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise InvalidArgumentError(f"{where} climbs out of the bundle with '..'")
    if not parts:
        raise InvalidArgumentError(f"{where} has an empty name")
    if member.type not in (*_FILE_TYPES, tarfile.DIRTYPE):
        kind = ("a symbolic link" if member.issym() else "a hard link" if member.islnk()
                else "a FIFO" if member.isfifo() else "a device" if member.isdev()
                else "a sparse file" if member.issparse() else f"of tar type {member.type!r}")
        raise InvalidArgumentError(f"{where} is {kind}; bundles hold only regular files and folders")
    normal = "/".join(parts)
    if normal in seen:
        raise InvalidArgumentError(f"{where} appears twice")
    seen.add(normal)
    return normal


def _members(data: bytes, limits: BundleLimits, what: str
             ) -> Iterator[tuple[tarfile.TarFile, tarfile.TarInfo, str]]:
    """Each member of the archive, checked, with the archive to read its content from."""
    if len(data) > limits.max_upload_bytes:
        raise InvalidArgumentError(f"{what} is {len(data)} bytes, over the limit of "
                                   f"{limits.max_upload_bytes} (setting max_bundle_upload_bytes)")
    stream_limit = limits.max_bytes + (limits.max_members + 1) * _OVERHEAD_PER_MEMBER
    with gzip.GzipFile(fileobj=io.BytesIO(data), mode="rb") as unzipped:
        bounded = io.BufferedReader(_BoundedStream(unzipped, stream_limit, what))
        try:
            archive = tarfile.open(fileobj=bounded, mode="r|")  # noqa: SIM115 - closed by the with below
        except _DAMAGED as exc:
            raise InvalidArgumentError(f"{what} is not a gzipped tar archive: {exc}") from exc
        seen: set[str] = set()
        declared = 0
        with archive:
            while True:
                try:
                    member = archive.next()
                    if member is None:
                        # to the end of the gzip stream: only there is its checksum compared
                        while bounded.read(_COPY_CHUNK):
                            pass
                except _DAMAGED as exc:
                    raise InvalidArgumentError(f"{what} is a damaged archive: {exc}") from exc
                if member is None:
                    return
                if len(seen) >= limits.max_members:
                    raise InvalidArgumentError(f"{what} has more than {limits.max_members} members "
                                               "(setting max_bundle_members)")
                name = _check_member(member, seen, what)
                declared += member.size
                if declared > limits.max_bytes:
                    raise InvalidArgumentError(
                        f"{what} unpacks to more than {limits.max_bytes} bytes (at member {name!r}; "
                        "setting max_bundle_unpacked_bytes)")
                yield archive, member, name


def _copy(archive: tarfile.TarFile, member: tarfile.TarInfo, out: IO[bytes] | None, what: str) -> int:
    """Copies (or, without ``out``, reads through) the member's content; returns its size."""
    source = archive.extractfile(member)
    if source is None:
        return 0
    copied = 0
    while True:
        try:
            chunk = source.read(_COPY_CHUNK)
        except _DAMAGED as exc:
            raise InvalidArgumentError(f"{what}: member {member.name!r} is damaged: {exc}") from exc
        if not chunk:
            return copied
        copied += len(chunk)
        if copied > member.size:  # cannot happen with tarfile's reader; the limit relies on it
            raise InvalidArgumentError(f"{what}: member {member.name!r} holds more than it declares")
        if out is not None:
            out.write(chunk)


def check_bundle(data: bytes, limits: BundleLimits | None = None, what: str = "the code bundle") -> int:
    """Reads the whole bundle through the unpacking checks without writing anything; returns
    the number of its members (the server does this before it accepts a registration)."""
    count = 0
    for archive, member, _ in _members(data, limits or BundleLimits(), what):
        _copy(archive, member, None, what)
        count += 1
    return count


def _extract(data: bytes, staging: Path, limits: BundleLimits, what: str) -> None:
    for archive, member, name in _members(data, limits, what):
        path = staging.joinpath(*name.split("/"))
        if member.isdir():
            path.mkdir(mode=0o755, parents=True, exist_ok=True)
            continue
        path.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
        mode = 0o755 if member.mode & 0o111 else 0o644
        # a fresh folder holding only folders we made: O_EXCL|O_NOFOLLOW just makes sure
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
        with open(fd, "wb") as out:
            _copy(archive, member, out, what)
        os.chmod(path, mode)


def bundle_folder(cache_root: Path, uri: str) -> Path:
    """Where the bundle at ``uri`` is (or will be) unpacked below ``cache_root``."""
    return cache_root / hashlib.sha256(uri.encode()).hexdigest()[:24]


def unpack_bundle(data: bytes, target: Path, limits: BundleLimits | None = None,
                  what: str = "the code bundle") -> Path:
    """Unpacks a bundle's bytes into ``target`` (atomically; a no-op when it is there), or
    raises InvalidArgumentError naming the first thing wrong, leaving nothing behind."""
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".unpack-", dir=target.parent))
    try:
        _extract(data, staging, limits or BundleLimits(), what)
        staging.chmod(0o755)
        try:
            os.rename(staging, target)
        except OSError:
            if not target.is_dir():  # not a lost race with another unpacker: a real failure
                raise
    finally:
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(staging)
    return target


async def fetch_bundle(store: BlobStore, uri: str, cache_root: Path,
                       limits: BundleLimits | None = None) -> Path:
    """The folder holding the bundle at ``uri``, downloading and unpacking it on first use."""
    target = bundle_folder(cache_root, uri)
    if target.is_dir():
        return target
    import anyio.to_thread

    limits = limits or BundleLimits()
    size = await store.size(uri)
    if size > limits.max_upload_bytes:  # refused before it is read into memory
        raise InvalidArgumentError(f"the code bundle {uri} is {size} bytes, over the limit of "
                                   f"{limits.max_upload_bytes} (setting max_bundle_upload_bytes)")
    data = await store.get(uri)
    named, found = named_md5(uri), hashlib.md5(data).hexdigest()
    # checked at registration too; on S3 an object may be replaced since: such code never runs
    if named is not None and found != named:
        raise InvalidArgumentError(f"the code bundle {uri} holds content with MD5 {found}, not the {named} "
                                   "it was registered with: it was replaced after registration and is not "
                                   "run; register the code again under a new version")
    return await anyio.to_thread.run_sync(unpack_bundle, data, target, limits, f"the code bundle {uri}")
