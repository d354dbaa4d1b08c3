"""Intra-task checkpoints: what an attempt saves, the next attempt of the same node restores.

``current_context().checkpoint`` in task code, with flytekit's methods: ``write(bytes)`` /
``read()`` for one value, ``save(path)`` / ``restore()`` for a file or folder, and
``prev_exists()``. Checkpoints live in the blob store, in the ``checkpoint/`` folder of
the attempt's output prefix (see attempt_files), so an attempt restores one whichever
process or pod ran the attempt before it. Each save goes to a fresh folder and is
published by writing the attempt's ``latest`` marker last: an attempt killed mid-save leaves
the previous save whole. An attempt restores the last save of the nearest earlier attempt
that saved one.
"""

from __future__ import annotations

import io
import os
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, TypeVar

from wingspan.core.engine.attempt_files import AttemptFiles
from wingspan.core.engine.attempt_io import prefix_in, run_blocking

if TYPE_CHECKING:
    from wingspan.core.storage.interface import BlobStore

__all__ = ["Checkpoint"]

T = TypeVar("T")

_MARKER = "latest"
# the file a single value (write(bytes), save(bytes)) is stored as
_VALUE_FILE = "checkpoint"


class Checkpoint:
    """One attempt's checkpoint. ``store`` and ``prefix`` are the blob store and output prefix
    of the attempt (None and "": this process's configured store, opened for each transfer,
    and the attempt's prefix in it)."""

    def __init__(self, execution_id: str, node_id: str, attempt: int, store: BlobStore | None,
                 prefix: str, scratch: Callable[[], Path]) -> None:
        self._execution_id, self._node_id, self.attempt = execution_id, node_id, attempt
        self._store, self._prefix = store, prefix
        self._scratch = scratch
        self._restored: Path | None = None
        self._previous: tuple[str, list[str]] | None = None  # the save found, and its files

    # ---- flytekit's methods ------------------------------------------------------------------

    def prev_exists(self) -> bool:
        """Whether an earlier attempt of this node saved a checkpoint."""
        return self._blocking(self._find_previous) is not None

    def read(self) -> bytes | None:
        """The value an earlier attempt wrote (``write``), or None when none saved one."""
        found = self._blocking(self._find_previous)
        if found is None:
            return None
        folder, files = found
        if len(files) != 1:
            raise ValueError(f"the checkpoint of node {self._node_id} holds {len(files)} files, not one "
                             "value: use restore() to get them as a folder")

        async def get(store: BlobStore) -> bytes:
            return await store.get(folder + files[0])

        return self._blocking(get)

    def write(self, data: bytes) -> None:
        """Saves ``data`` as this attempt's checkpoint (replacing any it saved before)."""
        self.save(data)

    def restore(self, path: str | os.PathLike[str] | None = None) -> Path | None:
        """Downloads the checkpoint an earlier attempt saved into the folder ``path`` (default:
        a folder of the attempt's scratch directory); returns that folder, or None."""
        if self._restored is not None:
            return self._restored
        found = self._blocking(self._find_previous)
        if found is None:
            return None
        folder, files = found
        target = Path(path) if path is not None else self._scratch() / "checkpoint"
        target.mkdir(parents=True, exist_ok=True)

        async def download(store: BlobStore) -> None:
            for name in files:
                await store.download_file(folder + name, target / name)

        self._blocking(download)
        self._restored = target
        return target

    def save(self, source: str | os.PathLike[str] | bytes | BinaryIO) -> None:
        """Saves a file, a folder (its whole tree), bytes or an open binary file as this
        attempt's checkpoint, replacing the one it saved before."""
        if isinstance(source, bytes | bytearray):
            items: list[tuple[str, bytes | Path]] = [(_VALUE_FILE, bytes(source))]
        elif isinstance(source, io.IOBase) or hasattr(source, "read"):
            items = [(_VALUE_FILE, source.read())]
        else:
            local = Path(source)
            if local.is_dir():
                files = sorted(p for p in local.rglob("*") if p.is_file())
                items = [(p.relative_to(local).as_posix(), p) for p in files]
            elif local.is_file():
                items = [(local.name, local)]
            else:
                raise FileNotFoundError(f"checkpoint.save({str(source)!r}): no such file or folder")
        attempt_folder = self._attempt_folder

        async def upload(store: BlobStore) -> None:
            base = attempt_folder(store)
            marker = base + _MARKER
            before = (await store.get(marker)).decode() if await store.exists(marker) else ""
            save = uuid.uuid4().hex[:16]
            for name, data in items:
                await store.put(f"{base}{save}/{name}", data)
            await store.put(marker, save.encode())  # published: the save is whole
            if before:
                await store.delete_prefix(f"{base}{before}/")

        self._blocking(upload)

    # ---- where and how ------------------------------------------------------------------------

    def _attempt_folder(self, store: BlobStore, attempt: int | None = None) -> str:
        """The checkpoint folder of this attempt, or of an earlier one (``attempt``)."""
        prefix = prefix_in(store, self._prefix, self._execution_id, self._node_id, self.attempt)
        return AttemptFiles(prefix).checkpoint(attempt)

    async def _find_previous(self, store: BlobStore) -> tuple[str, list[str]] | None:
        if self._previous is not None:
            return self._previous
        for attempt in range(self.attempt - 1, -1, -1):
            base = self._attempt_folder(store, attempt)
            if not await store.exists(base + _MARKER):
                continue
            folder = f"{base}{(await store.get(base + _MARKER)).decode()}/"
            files = [uri[len(folder):] async for uri in store.list_prefix(folder)]
            self._previous = (folder, files)
            return self._previous
        return None

    def _blocking(self, work: Callable[[BlobStore], Awaitable[T]]) -> T:
        return run_blocking(self._store, work)
