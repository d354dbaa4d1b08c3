"""An MPI attempt known only by its handle (another engine replica): followed to its end from the
job folder, and aborted, which kills the job's whole session."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from wingspan_mpi._sessions import session_members
from wingspan_mpi._target import MPILocal

from tests.unit.mpi import mpi_tasks
from wingspan.core.model.literals import Literal, LiteralMap
from wingspan.plugin import TaskContext, TaskPhase

pytestmark = pytest.mark.slow


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("WINGSPAN_HOME", str(tmp_path / "home"))
    yield tmp_path / "home"


async def test_another_instance_follows_a_job_from_its_handle(home: Path) -> None:
    ctx = TaskContext(mpi_tasks.ranks_report.template, LiteralMap({"base": Literal("integer", 1)}),
                      "exec", "n0", 0, work_dir=home / "logs")
    starter = MPILocal(home=home)
    try:
        handle = json.loads(json.dumps(await starter.start(ctx)))  # plain data
        status = await MPILocal(home=home).watch(ctx, handle)  # knows only the handle
        assert status.phase == TaskPhase.SUCCEEDED, status.error
        assert status.outputs is not None
        assert status.outputs.literals["o0"] == Literal("integer", 1 + 2 + 3 + 4)
        assert status.outputs.literals["o2"] == Literal("string", "rank 0")
    finally:
        await starter.aclose()


async def test_another_instance_aborts_a_job_from_its_handle(home: Path) -> None:
    ctx = TaskContext(mpi_tasks.sleeps_past_its_timeout.template,
                      LiteralMap({"marker": Literal("string", "abort-test")}), "exec", "n0", 0,
                      work_dir=home / "logs")
    starter = MPILocal(home=home)
    try:
        handle = await starter.start(ctx)
        other = MPILocal(home=home)
        assert (await other.poll(ctx, handle)).phase == TaskPhase.RUNNING
        await other.abort(ctx, handle)
        status = await starter.watch(ctx, handle)
        assert status.phase == TaskPhase.FAILED  # ended without a result
        assert session_members(int(handle["pid"])) == []
        assert (await other.poll(ctx, handle)).phase == TaskPhase.FAILED
    finally:
        await starter.aclose()
