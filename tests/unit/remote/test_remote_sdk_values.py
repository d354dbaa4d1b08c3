"""Issue #22's 'wrong today' items on a served run (the server of `wingspan serve`, in this
process, with its engine and warm workers): the same code gives the same results as a local run."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.unit.remote.servers import api_server
from wingspan._remote.client import AsyncRemote
from wingspan.core.model.execution import WorkflowPhase

HERE = Path(__file__).resolve().parent
SDK_TESTS = HERE.parent / "sdk"


def _project(tmp_path: Path, **modules: Path) -> Path:
    folder = tmp_path / "project"
    folder.mkdir()
    for name, source in modules.items():
        shutil.copy(source, folder / f"{name}.py")
    return folder


async def test_nested_conditionals_run_on_a_server(tmp_path: Path) -> None:
    project = _project(tmp_path, remote_nested=SDK_TESTS / "nested_branches.py")
    async with api_server(tmp_path / "home", engine=True) as server:
        client = AsyncRemote(server.grpc_address)
        try:
            await client.register(project)
            for x, expected in ((1000, "huge:1000"), (200, "big:200"), (3, "small:3"), (0, "zero:0")):
                run = await client.execute("remote_nested.classify", {"x": x}, wait=True, timeout=60)
                assert (run.error, await run.outputs()) == ("", {"o0": expected})
            refused = await client.execute("remote_nested.refuse_small", {"x": 2}, wait=True, timeout=60)
            assert refused.phase == WorkflowPhase.FAILED
            assert "x must be above 5" in refused.error
        finally:
            await client.aclose()


async def test_tasks_do_not_see_each_others_changes_on_a_server(tmp_path: Path) -> None:
    project = _project(tmp_path, remote_isolation=SDK_TESTS / "isolation_flows.py")
    async with api_server(tmp_path / "home", engine=True) as server:
        client = AsyncRemote(server.grpc_address)
        try:
            await client.register(project)
            run = await client.execute("remote_isolation.siblings", {}, wait=True, timeout=60)
            assert (run.error, await run.outputs()) == ("", {"o0": 4, "o1": 4, "o2": 3, "o3": [1, 2, 3]})
            run = await client.execute("remote_isolation.folders", {}, wait=True, timeout=60)
            outputs = await run.outputs()
            assert (run.error, outputs["o0"], outputs["o1"]) == ("", "scribbled", "a.txt=original")
        finally:
            await client.aclose()


async def test_frames_connect_and_columns_are_cut_on_a_server(tmp_path: Path) -> None:
    from tests.unit.sdk.test_sdk_frames_connect import EVERY_WAY, SUBSETS

    project = _project(tmp_path, remote_frames=SDK_TESTS / "frame_flows.py")
    async with api_server(tmp_path / "home", engine=True) as server:
        client = AsyncRemote(server.grpc_address)
        try:
            await client.register(project)
            run = await client.execute("remote_frames.every_way", {}, wait=True, timeout=90)
            assert (run.error, await run.outputs()) == ("", {"o0": EVERY_WAY})
            run = await client.execute("remote_frames.subsets", {}, wait=True, timeout=90)
            assert (run.error, await run.outputs()) == ("", {"o0": SUBSETS})
            run = await client.execute("remote_frames.missing_column", {}, wait=True, timeout=90)
            assert run.phase == WorkflowPhase.FAILED and "missing column(s) ['d']" in run.error
        finally:
            await client.aclose()


async def test_cached_tasks_hit_for_the_same_data_on_a_server(tmp_path: Path) -> None:
    project = _project(tmp_path, remote_cached=SDK_TESTS / "cached_data_flows.py")
    one, two = tmp_path / "one.txt", tmp_path / "two.txt"
    one.write_text("same bytes")
    two.write_text("same bytes")

    async def cache_of(name: str, inputs: dict[str, object], expected: object) -> list[str]:
        run = await client.execute(name, inputs, wait=True, timeout=90)
        assert (run.error, await run.outputs()) == ("", {"o0": expected})
        return [node["cache"] for node in await client.nodes(run) if node["cache"] not in ("", "disabled")]

    async with api_server(tmp_path / "home", engine=True) as server:
        client = AsyncRemote(server.grpc_address)
        try:
            await client.register(project)
            assert await cache_of("remote_cached.frame_rows", {"n": 3, "seed": 1}, 3) == ["populated"]
            assert await cache_of("remote_cached.frame_rows", {"n": 3, "seed": 1}, 3) == ["hit"]
            assert await cache_of("remote_cached.frame_rows", {"n": 3, "seed": 2}, 3) == ["populated"]
            assert await cache_of("remote_cached.file_size", {"source": str(one)}, 10) == ["populated"]
            assert await cache_of("remote_cached.file_size", {"source": str(two)}, 10) == ["hit"]
        finally:
            await client.aclose()


async def test_a_failed_task_reads_as_one_trace_of_user_code_on_a_server(tmp_path: Path) -> None:
    from tests.unit.sdk.test_sdk_failure_traces import TASKS

    project = tmp_path / "project"
    project.mkdir()
    (project / "remote_failing.py").write_text(TASKS)
    async with api_server(tmp_path / "home", engine=True) as server:
        client = AsyncRemote(server.grpc_address)
        try:
            await client.register(project)
            run = await client.execute("remote_failing.wf", {"x": 1}, wait=True, timeout=60)
            assert run.phase == WorkflowPhase.FAILED
            assert run.error.startswith("ValueError: bad x 1"), run.error
            assert run.error.count('raise ValueError(f"bad x {x}")') == 1, run.error
            assert "wingspan/core/" not in run.error and "asyncio" not in run.error, run.error
        finally:
            await client.aclose()
