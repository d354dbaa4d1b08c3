"""``File`` and ``Directory``: data that travels by reference through the blob store.

A local file returned by a task is uploaded when it leaves the task; a file
received by a task is downloaded only when the task asks for its contents, and read
chunk by chunk from the store when it is opened (``open("rb")``) instead. A task may also
make files and folders in the store itself (``File.new_remote``, ``Directory.new_remote``),
written as streams and returned without a second upload, and list a stored folder without
downloading it (``Directory.listing``, ``crawl``).
"""

from __future__ import annotations

import abc
import copyreg
import os
import tempfile
import types
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Self

from wingspan.core.model.literals import Blob, BlobDimensionality, BlobType, Literal, LiteralType
from wingspan.core.types.engine import TypeEngine, mismatch_from_literal, type_repr
from wingspan.core.types.raw_data import new_raw_location
from wingspan.core.types.remote_reads import check_readable, download_url, store_reading
from wingspan.core.types.transformer import TransferContext, TypeTransformer, ValueMismatch

if TYPE_CHECKING:
    from wingspan.core.storage.interface import BlobStore
    from wingspan.core.types.blob_streams import StoreBridge

__all__ = ["FILE_TRANSFORMERS", "Directory", "File", "blob_format", "file_kind", "files_from_text",
           "mentions_files"]


def _is_remote(location: str) -> bool:
    return "://" in location


def _local_path_of(uri: str) -> Path | None:
    """file:// URIs are already on this machine: no copy needed to read them."""
    if uri.startswith("file://"):
        from urllib.parse import unquote, urlparse

        return Path(unquote(urlparse(uri).path))
    return None


_R = typing.TypeVar("_R", bound="_Remote")


#: the annotation classes File["csv"], Directory["parquet"] ... made so far, by (class, format)
_FORMATTED: dict[tuple[type, str], type] = {}

if TYPE_CHECKING:
    # File[CSV] (a TypeVar naming the format) type-checks, and a bare File needs no parameter:
    # the default, which only type checkers read (typing's TypeVar takes one from 3.13)
    from typing_extensions import TypeVar

    _Format = TypeVar("_Format", default=Any)
else:
    _Format = typing.TypeVar("_Format")


class _FormattedClass(abc.ABCMeta):
    """The class of ``File["csv"]``: pickle looks a class up by its module and name, which finds no
    class made on use, so these are pickled as the class and format they name (see copyreg below)."""


def _formatted(kind: type[_Remote], name: str) -> Any:
    return kind[name]  # type: ignore[index]


def _pickled_as_named(made: _FormattedClass) -> tuple[Any, tuple[Any, str]]:
    return _formatted, (made._formatted_from, made.format)  # type: ignore[attr-defined]


copyreg.pickle(_FormattedClass, _pickled_as_named)


class _Remote:
    """Shared by File and Directory: a location, and the store to fetch it from."""

    # made by new_remote in the running task: it may write there (a copy a consumer gets may not)
    _new_remote = False
    # File["csv"]: the format the annotation names, and the plain class it names it of
    format: typing.ClassVar[str] = ""
    _formatted_from: typing.ClassVar[type[_Remote] | None] = None

    def __class_getitem__(cls, given: Any) -> Any:
        """``File["csv"]`` (or flytekit's ``File[TypeVar("csv")]``): the annotation of a File of
        that format, a class of its own (so string annotations resolve); values are plain Files.
        As in flytekit, ``File[".csv"]`` is ``File["csv"]``, and ``File[""]`` or ``File[None]`` a File."""
        name = given.__name__ if isinstance(given, typing.TypeVar) else given
        if name is None and cls._formatted_from is None:
            return cls
        if not isinstance(name, str) or cls._formatted_from is not None:
            raise TypeError(f"{cls.__name__}[...] takes one format, as {cls.__name__}['csv'] or a "
                            f"TypeVar named for it, not {given!r}")
        name = name.strip().lstrip("~").lstrip(".")  # an extension as a file name ends with it
        if not name:
            return cls
        made = _FORMATTED.get((cls, name))
        if made is None:
            made = _FormattedClass(f"{cls.__name__}[{name!r}]", (cls,), {
                "format": name, "_formatted_from": cls, "__module__": cls.__module__,
                "__qualname__": f"{cls.__qualname__}[{name!r}]", "__doc__": cls.__doc__})
            _FORMATTED[(cls, name)] = made
        return made

    def __init__(self, path_or_uri: str | os.PathLike[str], *, _store: BlobStore | None = None,
                 _download_dir: Path | None = None) -> None:
        location = os.fspath(path_or_uri)
        self._uri: str | None = location if _is_remote(location) else None
        self._local: Path | None = None if self._uri else Path(location)
        if self._uri and (local := _local_path_of(self._uri)) is not None:
            self._local = local
        self._store = _store
        self._download_dir = _download_dir
        # what it was made from: equal references stay equal when a consumer gets a copy
        self._origin = self._local
        # a local original this object copies on first use (see __deepcopy__)
        self._pending: Path | None = None

    def __deepcopy__(self, memo: dict[int, Any]) -> _Remote:
        """A consumer's own reference: another task's local file or folder is copied when this
        one is first used (so a task writing to it changes nothing another task sees, as on a
        server, where each downloads its own), and a remote one downloads to a folder of its own."""
        twin = type(self).__new__(type(self))
        twin._uri, twin._store, twin._download_dir, twin._origin = self._uri, self._store, None, self._origin
        source = self._pending if self._pending is not None else self._local
        twin._local, twin._pending = None, source
        return twin

    def _take_copy(self) -> None:
        source = self._pending
        if source is None:
            return
        import shutil

        if not source.exists():  # nothing to copy: the path stays as given (and fails as given)
            self._local, self._pending = source, None
            return
        target = Path(tempfile.mkdtemp(prefix="wingspan-")) / source.name
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            shutil.copy2(source, target)
        self._local, self._pending = target, None

    @property
    def local_source(self) -> Path | None:
        """The local file or folder whose contents this holds (before any copy is taken)."""
        return self._pending or self._local

    @property
    def store(self) -> BlobStore | None:
        """The blob store it came with, to fetch it from (None: its URI alone says where)."""
        return self._store

    @property
    def uri(self) -> str | None:
        """Where it is stored, once it has left a task; None for a plain local path."""
        return self._uri

    @property
    def remote_source(self) -> str | None:
        """flytekit's name for ``uri``: where a received file or folder is stored."""
        return self._uri

    @classmethod
    def from_source(cls, source: str | os.PathLike[str]) -> Self:
        """flytekit's spelling of ``File(source)`` / ``Directory(source)``."""
        return cls(source)

    @property
    def path(self) -> str:
        """The local path if it is on this machine, else its URI (see ``download``)."""
        self._take_copy()
        return str(self._local) if self._local is not None else str(self._uri)

    @property
    def name(self) -> str:
        local = self._pending or self._local
        if local is not None:
            return local.name
        return (self._uri or "").rstrip("/").rsplit("/", 1)[-1]

    def _target(self) -> Path:
        folder = self._download_dir or Path(tempfile.mkdtemp(prefix="wingspan-"))
        folder.mkdir(parents=True, exist_ok=True)
        return folder / self.name

    def __fspath__(self) -> str:
        return self.download()

    def download(self) -> str:
        """Fetches the contents if needed and returns the local path."""
        self._take_copy()
        if self._local is None:
            from wingspan.core.types.blocking import run_io

            run_io(self.download_async)
        return str(self._local)

    async def download_async(self) -> str:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._uri or str(self._origin)!r})"

    @classmethod
    def _made_remote(cls, name: str) -> Self:
        store, uri = new_raw_location(name, f"{cls.__name__}.new_remote")
        return cls(uri, _store=store)._writable_in_store()

    def _writable_in_store(self) -> Self:
        # written through the store even where its URI is a local path (file://): the store
        # makes it appear whole, and a reader never sees half of it
        self._local = self._origin = None
        self._new_remote = True
        return self

    def _part(self, kind: type[_R], path: Path) -> _R:
        """A ``kind`` reference to ``path``, a part of what this one holds: copied before use
        as this one is, when this one is another task's (see __deepcopy__)."""
        made = kind(path)
        if self._local is None:
            made._pending, made._local = made._local, None
        return made

    def _stored_part(self, kind: type[_R], uri: str) -> _R:
        """A ``kind`` reference to ``uri``, a part of this stored one, read-only as a received
        one is (a file:// one is copied before use, not changed in place)."""
        made = kind(uri, _store=self._store)
        made._pending, made._local = made._local, None
        return made

    def _bridge(self) -> StoreBridge:
        """Runs this reference's store calls for synchronous code (a stream, a listing)."""
        from wingspan.core.types.blob_streams import StoreBridge

        assert self._uri is not None
        if self._store is not None and _serves(self._store, self._uri):
            return StoreBridge(self._store, owns_store=False)
        check_readable(self._uri, type(self).__name__, folder=isinstance(self, Directory))
        from wingspan.core.config import Settings
        from wingspan.core.storage.factory import store_for_uri

        return StoreBridge(store_for_uri(self._uri, Settings.load()), owns_store=True)

    def _streams_from_store(self) -> bool:
        """Whether its contents are read from the blob store (not from this machine, nor http(s))."""
        return self.local_source is None and self._uri is not None and not self._uri.startswith(
            ("http://", "https://"))

    @classmethod
    def _from_given(cls, value: Any) -> Any:
        """``value`` as this class: itself, or a path or URI given as str or Path (None if not)."""
        if type(value) is cls:
            return value
        if isinstance(value, str | Path):
            return cls(value)
        return None

    # as a field of a pydantic model: given as itself or a path or URI, written as its location
    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        from wingspan.core.types.model_fields import reference_schema

        return reference_schema(cls, cls._from_given, lambda v: v.uri or v.path,
                                f"a {cls.__name__}, a path or a URI")

    @classmethod
    def __get_pydantic_json_schema__(cls, schema: Any, handler: Any) -> dict[str, Any]:
        from wingspan.core.types.model_fields import REFERENCE_JSON_SCHEMA

        return dict(REFERENCE_JSON_SCHEMA)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, _Remote) or type(other) is not type(self):
            return False
        return (self._uri, self._origin) == (other._uri, other._origin)

    def __hash__(self) -> int:
        return hash((self._uri, self._origin))


class File(_Remote, os.PathLike[str], typing.Generic[_Format]):
    """A single file: ``File("out.csv")`` in a task, or a received file's reference."""

    async def download_async(self) -> str:
        self._take_copy()
        if self._local is None:
            assert self._uri is not None
            target = self._target()
            if self._uri.startswith(("http://", "https://")):
                await download_url(self._uri, target, "File")
            elif self._store is not None and _serves(self._store, self._uri):
                await self._store.download_file(self._uri, target)
            else:  # a URI given to a local run, or outside the store that came with it
                async with store_reading(self._uri, "File") as store:
                    await store.download_file(self._uri, target)
            self._local = target
        return str(self._local)

    @classmethod
    def new_remote(cls, name: str = "file") -> File:
        """A new file named ``name`` in the running execution's blob store, to write with
        ``open("wb")`` (streamed, in parts) and return as an output as it is: nothing is
        uploaded a second time. flytekit's ``FlyteFile.new_remote_file``."""
        return cls._made_remote(name)

    def open(self, mode: str = "r", **kwargs: Any) -> IO[Any]:
        """Opens the file. A stored file is read chunk by chunk from the blob store ("r",
        "rb"), unless it was downloaded; a local one is opened where it is, writing creates it;
        a ``File.new_remote`` is written to the store as a stream ("w", "wb")."""
        from wingspan.core.types import blob_streams

        if any(flag in mode for flag in "wax"):
            self._take_copy()
            if self._local is not None:
                self._local.parent.mkdir(parents=True, exist_ok=True)
                return open(self._local, mode, **kwargs)
            if not self._new_remote:
                raise ValueError(f"File {self._uri} was given to this task and is read-only: write "
                                 "to File.new_remote(name) or a new File(path) and return that")
            if mode.replace("t", "") not in ("w", "wb"):
                raise ValueError(f"File.new_remote is written whole: open it with 'w' or 'wb', "
                                 f"not {mode!r}")
            return blob_streams.open_writer(self._bridge(), str(self._uri), mode, kwargs)
        if mode.replace("t", "") in ("r", "rb"):
            if self._streams_from_store():
                return blob_streams.open_reader(self._bridge(), str(self._uri), mode, kwargs)
            if self.local_source is not None:  # read where it is: reading needs no copy of its own
                return open(self.local_source, mode, **kwargs)
        return open(self.download(), mode, **kwargs)


class Directory(_Remote, os.PathLike[str], typing.Generic[_Format]):
    """A folder of files, stored as every object under one prefix."""

    async def download_async(self) -> str:
        self._take_copy()
        if self._local is None:
            assert self._uri is not None
            target = self._target()
            target.mkdir(parents=True, exist_ok=True)
            if self._store is not None and _serves(self._store, self._uri):
                await _download_tree(self._store, self._uri, target)
            else:  # a URI given to a local run, or outside the store that came with it
                async with store_reading(self._uri, "Directory", folder=True) as store:
                    await _download_tree(store, self._uri, target)
            self._local = target
        return str(self._local)

    def files(self) -> list[str]:
        """Local paths of every file inside, downloading first if needed."""
        root = Path(self.download())
        return sorted(str(p) for p in root.rglob("*") if p.is_file())

    @classmethod
    def new_remote(cls, name: str = "folder") -> Directory:
        """A new folder in the running execution's blob store: write its files through
        ``new_file(name)`` and return it as an output as it is. flytekit's
        ``FlyteDirectory.new_remote``."""
        return cls._made_remote(name)

    def new_file(self, name: str) -> File:
        """The file ``name`` (a relative path) inside this folder, to write: in the store for
        a ``Directory.new_remote``, else on this machine."""
        relative = Path(name)
        if relative.is_absolute() or ".." in relative.parts:
            raise ValueError(f"Directory.new_file({name!r}): give a path relative to the folder, "
                             "inside it")
        if not self._new_remote:
            self._take_copy()
            if self._local is not None:
                return File(self._local / relative)
            raise ValueError(f"Directory {self._uri} was given to this task and is read-only: "
                             "make a Directory.new_remote() and write there")
        from wingspan.core.storage.uris import join_uri

        return File(join_uri(str(self._uri), *relative.parts), _store=self._store)._writable_in_store()

    def listing(self) -> list[File | Directory]:
        """What the folder holds at its top level, as File and Directory references, in name
        order, without downloading anything. flytekit's ``FlyteDirectory.listing``."""
        children: dict[str, File | Directory] = {}
        if not self._streams_from_store():
            root = Path(self.local_source or self.download())
            for entry in sorted(root.iterdir()):
                children[entry.name] = (self._part(Directory, entry) if entry.is_dir()
                                        else self._part(File, entry))
            return list(children.values())
        prefix = str(self._uri).rstrip("/") + "/"
        for uri in self._stored_files(prefix):
            head, sep, _ = uri[len(prefix):].partition("/")
            if head not in children:
                children[head] = (self._stored_part(Directory, prefix + head) if sep
                                  else self._stored_part(File, uri))
        return [children[name] for name in sorted(children)]

    def crawl(self) -> Iterator[File]:
        """Every file below the folder, at any depth, as a File reference, fetched page by page
        from the store as the loop asks (nothing is downloaded until a file is read)."""
        if not self._streams_from_store():
            for path in _files_under(Path(self.local_source or self.download())):
                yield self._part(File, path)
            return
        prefix = str(self._uri).rstrip("/") + "/"
        for uri in self._stored_files(prefix):
            yield self._stored_part(File, uri)

    def _stored_files(self, prefix: str) -> Iterator[str]:
        from wingspan.core.types.blob_streams import iterate

        bridge = self._bridge()
        return iterate(bridge, bridge.store.list_prefix(prefix))


def file_kind(py_type: Any) -> type[File] | type[Directory] | None:
    """File or Directory when the annotation is one (``File["csv"]`` too), else None."""
    if py_type is File or py_type is Directory:
        return py_type
    return typing.cast("type[File] | type[Directory] | None", getattr(py_type, "_formatted_from", None))


def mentions_files(py_type: Any) -> bool:
    """Whether File or Directory appear in an annotation (at the top, or in list, dict or union)."""
    return file_kind(py_type) is not None or any(mentions_files(arg) for arg in typing.get_args(py_type))


def files_from_text(value: Any, py_type: Any) -> Any:
    """``value`` with each path or URI given as text where a File or Directory is declared made
    one (in lists, dicts and unions too): what a task receives after a trip through a literal."""
    if isinstance(value, str):
        kind = file_kind(py_type)
        if kind is not None:
            return kind(value)
        union = typing.get_origin(py_type) in (typing.Union, types.UnionType)
        members = typing.get_args(py_type) if union else ()
        if str not in members:
            for member in members:
                if (kind := file_kind(member)) is not None:
                    return kind(value)
        return value
    origin = typing.get_origin(py_type)
    if origin is list and type(value) is list:
        (item,) = typing.get_args(py_type)
        return [files_from_text(v, item) for v in value]
    if origin is dict and type(value) is dict:
        item = typing.get_args(py_type)[1]
        return {k: files_from_text(v, item) for k, v in value.items()}
    return value


def _serves(store: BlobStore, uri: str) -> bool:
    """Whether the store that came with a reference reads its URI (one outside its root is
    read through the store configured for it, as a URI given alone is)."""
    key_of = getattr(store, "key_of", None)
    if key_of is None:  # a reader in a store's place (a client's downloads through a server)
        return True
    try:
        key_of(uri.rstrip("/"))
    except ValueError:
        return False
    return True


async def _download_tree(store: BlobStore, uri: str, target: Path) -> None:
    from wingspan.core.storage.uris import relative_key

    prefix = uri.rstrip("/") + "/"
    async for item in store.list_prefix(prefix):
        destination = target / relative_key(prefix, item)
        destination.parent.mkdir(parents=True, exist_ok=True)
        await store.download_file(item, destination)


async def _stored(value: File, ctx: TransferContext) -> bool:
    uri = str(value.uri)
    store = value.store if value.store is not None and _serves(value.store, uri) else ctx.store
    if store is None or not _serves(store, uri):
        return True  # no store here to ask: the consumer's read names what is missing
    return await store.exists(uri)


def _file_uri(path: str) -> str:
    return Path(os.path.abspath(path)).as_uri()


def _files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def blob_format(py_type: Any) -> str:
    """The format a ``File["csv"]`` annotation names; "" for a plain File or Directory."""
    return py_type.format if file_kind(py_type) is not None else ""


class _BlobTransformer(TypeTransformer):
    python_type: type[_Remote]
    dimensionality: BlobDimensionality

    def handles(self, py_type: Any) -> bool:
        return file_kind(py_type) is self.python_type

    def literal_type(self, py_type: Any, engine: TypeEngine) -> LiteralType:
        return LiteralType("blob", BlobType(blob_format(py_type), self.dimensionality),
                           annotation=type_repr(py_type))

    def fits(self, value: Any, py_type: Any, engine: TypeEngine, *, exact: bool) -> bool:
        # a path or URI given as text is one too, unless a union has str beside it
        return type(value) is self.python_type or (not exact and isinstance(value, str))

    async def to_literal(self, value: Any, py_type: Any, engine: TypeEngine,
                         ctx: TransferContext) -> Literal:
        if isinstance(value, str):
            value = self.python_type(value)
        if not isinstance(value, self.python_type):
            raise ValueMismatch.of(type_repr(py_type), value)
        uri = value.uri
        if value._new_remote and isinstance(value, File) and not await _stored(value, ctx):
            raise ValueMismatch("File written to the store", "File", repr(uri),
                                detail="File.new_remote(...) returned before anything was written "
                                       "to it: write it with open('wb') first")
        if uri is None and ctx.reference_local_files:
            uri = _file_uri(value.path)
        elif uri is None:
            uri = await self.upload(value, ctx)
        return Literal("blob", Blob(uri, BlobType(blob_format(py_type), self.dimensionality)))

    async def upload(self, value: Any, ctx: TransferContext) -> str:
        raise NotImplementedError

    async def to_python(self, literal: Literal, py_type: Any, engine: TypeEngine,
                        ctx: TransferContext) -> Any:
        if literal.kind != "blob":
            raise mismatch_from_literal(py_type, literal)
        received = self.python_type(literal.value.uri, _store=ctx.store, _download_dir=ctx.download_dir)
        # a file:// location is the stored object itself (the local blob store): the task
        # reads and writes a copy of its own, as it would a download
        received._pending, received._local = received._local, None
        return received


class FileTransformer(_BlobTransformer):
    name = "file"
    python_type = File
    dimensionality = BlobDimensionality.SINGLE

    async def upload(self, value: Any, ctx: TransferContext) -> str:
        import anyio

        local = Path(value.path)
        if not await anyio.Path(local).is_file():
            raise ValueMismatch("File of an existing file", "File", repr(str(local)),
                                detail="no such file to upload")
        store = ctx.require_store("a File")
        uri = ctx.new_uri(local.name)
        await store.upload_file(local, uri)
        ctx.uploaded.append(uri)
        return uri


class DirectoryTransformer(_BlobTransformer):
    name = "directory"
    python_type = Directory
    dimensionality = BlobDimensionality.MULTIPART

    async def upload(self, value: Any, ctx: TransferContext) -> str:
        import anyio
        import anyio.to_thread

        local = Path(value.path)
        if not await anyio.Path(local).is_dir():
            raise ValueMismatch("Directory of an existing folder", "Directory", repr(str(local)),
                                detail="no such folder to upload")
        store = ctx.require_store("a Directory")
        root = ctx.new_uri(local.name)
        from wingspan.core.storage.uris import join_uri

        for path in await anyio.to_thread.run_sync(_files_under, local):
            await store.upload_file(path, join_uri(root, path.relative_to(local).as_posix()))
        ctx.uploaded.append(root)
        return root


FILE_TRANSFORMERS: tuple[TypeTransformer, ...] = (FileTransformer(), DirectoryTransformer())
