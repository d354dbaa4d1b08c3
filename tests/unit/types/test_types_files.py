"""File and Directory travel by reference through the local blob store and come back whole."""

from __future__ import annotations

import tempfile
from pathlib import Path

import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.unit.types.exactness import assert_exact, round_trip
from tests.unit.types.samples import examples
from wingspan.core.errors import TypeTransformerError
from wingspan.core.storage.local import TEMP_PREFIX, LocalBlobStore
from wingspan.core.storage.uris import InvalidUriError
from wingspan.core.types import TransferContext, default_engine
from wingspan.core.types.files import Directory, File

# names a user may give files: spaces, '#', '?', '%41' and non-ASCII included; not the prefix the
# local store keeps for its own half-written files (hypothesis finds it among our constants), which
# test_a_name_the_store_keeps_for_itself_is_refused_naming_it pins
names = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="/\x00"),
                min_size=1, max_size=40).filter(
    lambda s: s not in (".", "..") and len(s.encode()) < 200 and not s.startswith(TEMP_PREFIX))
trees = st.dictionaries(st.lists(names, min_size=1, max_size=3).map(tuple), st.binary(max_size=300),
                        min_size=0, max_size=5)


@pytest.fixture
def ctx(tmp_path: Path) -> TransferContext:
    return context(tmp_path)


def context(folder: Path) -> TransferContext:
    store = LocalBlobStore(folder / "blobs")
    return TransferContext(store=store, prefix=store.uri("data"), download_dir=folder / "downloads")


def write_tree(root: Path, tree: dict[tuple[str, ...], bytes]) -> None:
    """Writes the files; a path that is already a folder (or under a file) is skipped."""
    root.mkdir(parents=True, exist_ok=True)
    for parts, content in tree.items():
        target = root.joinpath(*parts)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            if not target.is_dir():
                target.write_bytes(content)
        except (NotADirectoryError, FileExistsError):
            continue


@examples(60)
@given(name=names, content=st.binary(max_size=2000))
def test_a_file_round_trips_by_reference(name: str, content: bytes) -> None:
    with tempfile.TemporaryDirectory(prefix="types-files-") as folder:
        root = Path(folder)
        source = root / "src" / name
        source.parent.mkdir()
        source.write_bytes(content)
        ctx = context(root)
        back, literal = anyio.run(round_trip, File(source), File, ctx)
        assert literal.kind == "blob" and literal.value.uri == ctx.uploaded[0] == back.uri
        assert_exact(back, File(source))
        assert back.name == name


@pytest.mark.parametrize("name", ["a#1.txt", "what?.csv", "x%41.bin", "two words", "été.txt"])
def test_names_that_need_escaping_in_a_uri(name: str, tmp_path: Path) -> None:
    (tmp_path / name).write_text(name)
    back, _ = anyio.run(round_trip, File(tmp_path / name), File, context(tmp_path))
    assert back.name == name and Path(back.download()).read_text() == name
    (tmp_path / "d" / name).mkdir(parents=True)
    (tmp_path / "d" / name / name).write_text(name)
    back, _ = anyio.run(round_trip, Directory(tmp_path / "d" / name), Directory, context(tmp_path))
    assert (Path(back.download()) / name).read_text() == name


@examples(40)
@given(tree=trees)
def test_a_directory_round_trips_with_every_file(tree: dict[tuple[str, ...], bytes]) -> None:
    with tempfile.TemporaryDirectory(prefix="types-files-") as folder:
        root = Path(folder)
        write_tree(root / "src" / "out dir#1", tree)
        ctx = context(root)
        value = Directory(root / "src" / "out dir#1")
        back, literal = anyio.run(round_trip, value, Directory, ctx)
        assert literal.kind == "blob" and literal.value.uri == back.uri
        assert_exact(back, value)


async def test_a_name_the_store_keeps_for_itself_is_refused_naming_it(
        ctx: TransferContext, tmp_path: Path) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / f"{TEMP_PREFIX}notes.txt").write_text("mine")
    with pytest.raises(InvalidUriError, match=f"{TEMP_PREFIX}notes.txt"):
        await round_trip(Directory(folder), Directory, ctx)


async def test_a_stored_file_passes_on_without_another_upload(ctx: TransferContext, tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("hello")
    first, _ = await round_trip(File(tmp_path / "a.txt"), File, ctx)
    ctx.uploaded.clear()
    again, literal = await round_trip(first, File, ctx)
    assert ctx.uploaded == [] and again.uri == first.uri == literal.value.uri
    with again.open() as handle:
        assert handle.read() == "hello"


async def test_files_and_directories_inside_records_and_lists(ctx: TransferContext, tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "x.bin").write_bytes(b"\x00\x01")
    (tmp_path / "f.txt").write_text("f")
    value = {"files": [File(tmp_path / "f.txt")], "dirs": [Directory(tmp_path / "d")]}
    back, _ = await round_trip(value, dict[str, list[File] | list[Directory]], ctx)
    assert type(back["files"][0]) is File and type(back["dirs"][0]) is Directory
    assert await anyio.Path(await back["files"][0].download_async()).read_text() == "f"
    folder = anyio.Path(await back["dirs"][0].download_async())
    assert await (folder / "x.bin").read_bytes() == b"\x00\x01"


async def test_a_missing_file_is_named_in_the_error(ctx: TransferContext, tmp_path: Path) -> None:
    with pytest.raises(TypeTransformerError, match=r"'report\[0\]': expected File of an existing file.*"
                                                    r"no such file to upload"):
        await default_engine().to_literal([File(tmp_path / "nope.txt")], list[File], ctx, name="report")
    with pytest.raises(TypeTransformerError, match="no such folder to upload"):
        await default_engine().to_literal(Directory(tmp_path / "nope"), Directory, ctx, name="out")


async def test_a_local_file_needs_a_blob_store_to_leave(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("a")
    with pytest.raises(TypeTransformerError, match="cannot move a File without a blob store"):
        await default_engine().to_literal(File(tmp_path / "a.txt"), File, name="f")


def test_flytekit_remote_source_names_where_a_received_file_is_stored(ctx: TransferContext,
                                                                       tmp_path: Path) -> None:
    source = tmp_path / "report.txt"
    source.write_text("r")
    assert File(source).remote_source is None  # a local path is not stored anywhere yet
    back, _ = anyio.run(round_trip, File(source), File, ctx)
    assert back.remote_source == back.uri == ctx.uploaded[0]
    folder = Directory.from_source(tmp_path)
    assert isinstance(folder, Directory) and folder.path == str(tmp_path)
    assert File.from_source("s3://bucket/key.csv").remote_source == "s3://bucket/key.csv"


def test_a_local_file_as_a_workflow_default_is_refused_saying_what_to_do(tmp_path: Path) -> None:
    from wingspan import task, workflow
    from wingspan.core.errors import CompilationError

    source = tmp_path / "one.txt"
    source.write_text("1")

    @task
    def read(f: File) -> str:
        return f.path

    local_default = File(source)
    with pytest.raises(CompilationError, match=r"parameter 'f': .*needs the blob store.*remote URI"):
        @workflow
        def wf(f: File = local_default) -> None:
            read(f=f)
