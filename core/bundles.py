"""Code bundles on the running side: fetched once per version, unpacked, put on sys.path.

A worker (a local process of the server, a pod) that runs a registered task needs the
code ``wingspan register`` uploaded. Bundles are immutable and named by their digest,
so one unpacked copy per URI serves every attempt; unpacking goes to a temporary
folder renamed into place, so a crash halfway leaves nothing that looks complete, and
two processes fetching the same bundle at once both end with the same folder.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import shutil
import tarfile
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wingspan.core.storage.interface import BlobStore

__all__ = ["bundle_folder", "fetch_bundle", "unpack_bundle"]


def bundle_folder(cache_root: Path, uri: str) -> Path:
    """Where the bundle at ``uri`` is (or will be) unpacked below ``cache_root``."""
    return cache_root / hashlib.sha256(uri.encode()).hexdigest()[:24]


def unpack_bundle(data: bytes, target: Path) -> Path:
    """Unpacks a bundle's bytes into ``target`` (atomically; a no-op when it is there)."""
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".unpack-", dir=target.parent))
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
            # "data" refuses absolute paths, links out of the folder and device files
            archive.extractall(staging, filter="data")
        try:
            os.rename(staging, target)
        except OSError:
            if not target.is_dir():  # not a lost race with another unpacker: a real failure
                raise
    finally:
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(staging)
    return target


async def fetch_bundle(store: BlobStore, uri: str, cache_root: Path) -> Path:
    """The folder holding the bundle at ``uri``, downloading and unpacking it on first use."""
    target = bundle_folder(cache_root, uri)
    if target.is_dir():
        return target
    import anyio.to_thread

    data = await store.get(uri)
    return await anyio.to_thread.run_sync(unpack_bundle, data, target)
