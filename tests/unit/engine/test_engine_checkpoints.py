"""Intra-task checkpoints (issue #22 item 18): a retried attempt resumes from what the attempt
before it saved in the blob store, in this process, in local-process workers and on a server."""

from __future__ import annotations

import shutil
from pathlib import Path

import anyio
import pytest

from tests.unit.engine import checkpoint_tasks
from tests.unit.remote.servers import api_server
from wingspan import current_context, task, workflow
from wingspan._remote.client import AsyncRemote
from wingspan._runner.run import outputs_of, run_workflow_entity
from wingspan.core.config import Settings
from wingspan.core.engine import RetryPolicy
from wingspan.core.model.execution import WorkflowPhase
from wingspan.core.storage import open_blob_store

FAST = RetryPolicy(first_delay=0.01, max_delay=0.01)


@pytest.fixture(autouse=True)
def home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Each test's own WINGSPAN_HOME, whose blob folder local checkpoints go to."""
    folder = tmp_path / "home"
    monkeypatch.setenv("WINGSPAN_HOME", str(folder))
    monkeypatch.delenv("WINGSPAN_STORAGE_ROOT", raising=False)
    monkeypatch.delenv("WINGSPAN_TASK_TARGETS", raising=False)
    return folder


def stored_under(prefix: str) -> list[str]:
    store = open_blob_store(Settings.load())

    async def listing() -> list[str]:
        return [uri async for uri in store.list_prefix(store.uri(prefix) + "/")]

    return anyio.run(listing)


def test_each_retry_resumes_from_the_checkpoint_the_attempt_before_wrote() -> None:
    result = run_workflow_entity(checkpoint_tasks.counting, {"n": 3}, retry=FAST, execution_id="count-1")
    assert outputs_of(checkpoint_tasks.counting, result) == "reached 3 on attempt 2"
    assert any("/data/count-1/n0/2/checkpoint/" in uri for uri in stored_under("data"))


def test_on_the_local_process_target_too() -> None:
    result = run_workflow_entity(checkpoint_tasks.counting, {"n": 2}, retry=FAST, target="local-process")
    assert outputs_of(checkpoint_tasks.counting, result) == "reached 2 on attempt 1"


seen: list[tuple[int, bool, bytes | None, Path | None]] = []


@task(retries=1)
def folders(x: int) -> str:
    ctx = current_context()
    checkpoint = ctx.checkpoint
    seen.append((ctx.attempt, checkpoint.prev_exists(), None, None))
    restored = checkpoint.restore()
    if restored is None:
        work = ctx.scratch_dir / "work"
        (work / "deep").mkdir(parents=True)
        (work / "model.bin").write_bytes(b"weights")
        (work / "deep" / "step.txt").write_text("41")
        checkpoint.save(b"a first save, replaced by the next")
        checkpoint.save(work)
        raise RuntimeError("the first attempt saves and fails")
    with pytest.raises(ValueError, match="holds 2 files, not one value: use restore"):
        checkpoint.read()
    return f"{(restored / 'model.bin').read_bytes().decode()}|{(restored / 'deep' / 'step.txt').read_text()}"


@workflow
def with_folders(x: int) -> str:
    made: str = folders(x=x)
    return made


def test_a_folder_saved_is_restored_whole_and_a_later_save_replaces_an_earlier() -> None:
    seen.clear()
    result = run_workflow_entity(with_folders, {"x": 1}, retry=FAST, execution_id="folders-1")
    assert outputs_of(with_folders, result) == "weights|41"
    assert [(attempt, exists) for attempt, exists, *_ in seen] == [(0, False), (1, True)]
    saved = [uri.split("/data/folders-1/n0/0/checkpoint/")[1] for uri in stored_under("data")]
    files = sorted(name.split("/", 1)[1] for name in saved if name != "latest")
    assert files == ["deep/step.txt", "model.bin"]  # the first save's folder went


@task
def first_attempt(x: int) -> str:
    checkpoint = current_context().checkpoint
    return f"{checkpoint.prev_exists()}|{checkpoint.read()!r}|{checkpoint.restore()}"


def test_a_first_attempt_finds_no_checkpoint() -> None:
    assert first_attempt(x=1) == "False|None|None"


def test_saving_what_does_not_exist_names_it(tmp_path: Path) -> None:
    @task
    def bad_save(x: int) -> int:
        current_context().checkpoint.save(tmp_path / "missing")
        return x

    with pytest.raises(FileNotFoundError, match=r"checkpoint.save\('.*missing'\): no such file or folder"):
        bad_save(x=1)


async def test_a_retried_attempt_resumes_on_a_server(tmp_path: Path) -> None:
    folder = tmp_path / "project"
    folder.mkdir()
    shutil.copy(Path(checkpoint_tasks.__file__), folder / "served_checkpoints.py")
    async with api_server(tmp_path / "server-home", engine=True) as server:
        remote = AsyncRemote(server.grpc_address)
        try:
            await remote.register(folder)
            execution = await remote.execute("served_checkpoints.counting", {"n": 3})
            await execution.wait(timeout=120)
            assert execution.phase == WorkflowPhase.SUCCEEDED, execution.error
            assert await execution.outputs() == {"o0": "reached 3 on attempt 2"}
            # in the server's blob store, where its workers (or pods) all find them
            store = open_blob_store(server.settings)
            prefix = store.uri("data", "default", "development", execution.name, "n0") + "/"
            saved = [uri[len(prefix):] async for uri in store.list_prefix(prefix)]
            assert sorted(uri.split("/")[0] for uri in saved if uri.endswith("/checkpoint/latest")) == [
                "0", "1", "2"]
        finally:
            await remote.aclose()


@task(retries=1, timeout=60)
def forked(x: int) -> str:
    # a task with a timeout runs in a forked child, which the engine can stop
    checkpoint = current_context().checkpoint
    before = checkpoint.read()
    if before is None:
        checkpoint.write(b"from the first child")
        raise RuntimeError("fails once")
    return before.decode()


@workflow
def forking(x: int) -> str:
    made: str = forked(x=x)
    return made


def test_a_task_with_a_timeout_checkpoints_from_its_forked_child() -> None:
    result = run_workflow_entity(forking, {"x": 1}, retry=FAST)
    assert outputs_of(forking, result) == "from the first child"
