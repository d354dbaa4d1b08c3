"""Remote-data helpers (issue #22 item 24): files and folders a task makes in the blob store
itself, returned without a second upload; a stored folder's listing without a download; stored
files read and written as streams. In this process, in local-process workers and on a server."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import anyio
import pytest

from tests.unit.remote.servers import api_server
from tests.unit.types import remote_data_tasks as tasks
from wingspan import Directory, File, task
from wingspan._remote.client import AsyncRemote
from wingspan._runner.run import outputs_of, run_workflow_entity
from wingspan.core.config import Settings
from wingspan.core.errors import UserError
from wingspan.core.model.execution import WorkflowPhase
from wingspan.core.storage import open_blob_store
from wingspan.core.storage.local import LocalBlobStore


@pytest.fixture(autouse=True)
def home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    folder = tmp_path / "home"
    monkeypatch.setenv("WINGSPAN_HOME", str(folder))
    monkeypatch.delenv("WINGSPAN_STORAGE_ROOT", raising=False)
    monkeypatch.delenv("WINGSPAN_TASK_TARGETS", raising=False)
    return folder


def expected_summary(mib: int) -> str:
    digest = hashlib.sha256(tasks.pattern(mib)).hexdigest()
    return (f"{digest}|Directory:nested,File:part-0.txt,File:part-1.txt"
            "|deep.txt,part-0.txt,part-1.txt|part 0")


def stored(prefix: str) -> list[str]:
    store = open_blob_store(Settings.load())

    async def listing() -> list[str]:
        return [uri[len(store.root):] async for uri in store.list_prefix(store.uri(prefix) + "/")]

    return anyio.run(listing)


@pytest.mark.parametrize("target", ["in-process", "local-process"])
def test_a_file_streamed_to_the_store_and_a_folder_made_there_reach_the_next_task(target: str) -> None:
    result = run_workflow_entity(tasks.stream_and_list, {"mib": 3, "count": 2}, target=target,
                                 execution_id=f"streams-{target}")
    assert outputs_of(tasks.stream_and_list, result) == expected_summary(3)
    written = stored(f"data/streams-{target}/n0")
    # the file is in the attempt's raw-data folder, and nowhere else: returning it uploaded nothing
    large = [uri for uri in written if uri.endswith("large.bin")]
    assert len(large) == 1 and "/n0/0/raw/" in large[0], written


def test_a_stored_file_is_read_in_chunks_and_never_downloaded(tmp_path: Path) -> None:
    store = LocalBlobStore((tmp_path / "blobs").as_uri())
    uri = store.uri("x", "data.bin")
    anyio.run(store.put, uri, tasks.pattern(2))
    received = File(uri, _store=store)
    received._local = None  # as a store elsewhere would give it: only the URI
    with received.open("rb", buffering=64 * 1024) as source:
        first = source.read(10)
        rest = source.read()
    assert first + rest == tasks.pattern(2)
    assert received._local is None  # nothing came to this machine
    with received.open("r", encoding="latin-1") as text:
        assert len(text.read()) == 2 * tasks.MIB


def test_a_stream_left_by_an_exception_stores_nothing() -> None:
    @task
    def half_written(x: int) -> str:
        made = File.new_remote("half.bin")
        with pytest.raises(RuntimeError, match="stops half way"), made.open("wb") as out:
            out.write(b"a" * 1000)
            raise RuntimeError("stops half way")
        with pytest.raises(Exception, match=r"half\.bin"):
            made.open("rb").read()
        return "nothing stored"

    assert half_written(x=1) == "nothing stored"


def test_new_remote_outside_a_task_says_where_it_works() -> None:
    with pytest.raises(UserError, match=r"File.new_remote is available only inside a running task"):
        File.new_remote("x.bin")
    with pytest.raises(UserError, match=r"Directory.new_remote is available only inside a running task"):
        Directory.new_remote()


def test_returning_a_new_remote_file_never_written_names_it() -> None:
    result = run_workflow_entity(tasks.returns_unwritten, {"x": 1}, target="local-process")
    assert result.error is not None
    assert "empty.bin" in result.error.message
    assert "returned before anything was written to it: write it with open('wb') first" in \
        result.error.message


def test_a_received_file_or_folder_is_read_only_and_says_what_to_write_instead(tmp_path: Path) -> None:
    store = LocalBlobStore((tmp_path / "blobs").as_uri())
    anyio.run(store.put, store.uri("d", "a.txt"), b"a")
    received = File(store.uri("d", "a.txt"), _store=store)
    received._local = None
    with pytest.raises(ValueError, match=r"read-only: write to File.new_remote\(name\) or a new File"):
        received.open("wb")
    folder = Directory(store.uri("d"), _store=store)
    folder._local = None
    with pytest.raises(ValueError, match=r"read-only: make a Directory.new_remote\(\) and write there"):
        folder.new_file("b.txt")
    with pytest.raises(ValueError, match="give a path relative to the folder"):
        folder.new_file("../escape.txt")


def test_listing_and_crawl_of_a_local_folder_leave_the_original_untouched(tmp_path: Path) -> None:
    source = tmp_path / "given"
    (source / "sub").mkdir(parents=True)
    (source / "a.txt").write_text("a")
    (source / "sub" / "b.txt").write_text("b")

    @task
    def rewrite_each(folder: Directory) -> list[str]:
        names = [item.name for item in folder.listing()]
        for item in folder.crawl():
            with item.open("w") as out:  # its own copy, as a download would be
                out.write("changed")
        return names

    assert rewrite_each(folder=Directory(source)) == ["a.txt", "sub"]
    assert (source / "a.txt").read_text() == "a" and (source / "sub" / "b.txt").read_text() == "b"


async def test_through_a_server_a_streamed_file_and_a_folder_listing(tmp_path: Path) -> None:
    code = tmp_path / "code"
    code.mkdir()
    shutil.copy(Path(tasks.__file__), code / "served_remote_data.py")
    async with api_server(tmp_path / "server-home", engine=True) as server:
        remote = AsyncRemote(server.grpc_address)
        try:
            await remote.register(code)
            execution = await remote.execute("served_remote_data.stream_and_list", {"mib": 6, "count": 2},
                                             wait=True, timeout=120)
            assert execution.phase == WorkflowPhase.SUCCEEDED, execution.error
            assert await execution.outputs() == {"o0": expected_summary(6)}
            store = open_blob_store(server.settings)
            prefix = store.uri("data", "default", "development", execution.name, "n0") + "/"
            written = [uri[len(prefix):] async for uri in store.list_prefix(prefix)]
            assert [uri for uri in written if uri.endswith(".bin")] == [
                next(uri for uri in written if uri.startswith("0/raw/") and uri.endswith("/large.bin"))]
        finally:
            await remote.aclose()
