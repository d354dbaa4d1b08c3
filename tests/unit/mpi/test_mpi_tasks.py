"""MPI tasks run locally through the engine on ``mpi-local``: every rank runs the body with its
rank, rank 0's return value is the outputs; a rank that raises, a rank killed and a timeout fail
the attempt, named, and leave no process of the job behind."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.unit.mpi import mpi_tasks
from wingspan._authoring.workflow import single_node_workflow
from wingspan._runner.run import outputs_of, run_workflow_entity
from wingspan.core.model.execution import WorkflowPhase

# each test starts an mpirun job whose ranks each start an interpreter (seconds on 2 shared CPUs)
pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("WINGSPAN_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("WINGSPAN_TASK_TARGETS", raising=False)
    yield tmp_path


def run(entity: Any, **values: Any) -> tuple[Any, Any]:
    workflow = entity if hasattr(entity, "closure") else single_node_workflow(entity)
    return run_workflow_entity(workflow, values), workflow


def job_processes(marker: str) -> list[str]:
    """The command lines of live processes that mention ``marker`` (an MPI job's folder)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                line = (entry / "cmdline").read_bytes()
                state = (entry / "stat").read_text().rpartition(")")[2].split()[0]
            except OSError:
                continue
            if marker.encode() in line and state != "Z":
                found.append(line.replace(b"\0", b" ").decode(errors="replace"))
    return found


def test_every_rank_runs_the_body_and_rank_zero_gives_the_outputs() -> None:
    result, wf = run(mpi_tasks.ranks_report, base=10)
    assert result.phase == WorkflowPhase.SUCCEEDED, result.error
    # 4 ranks (2 workers x 2 slots): 10+0 + 10+1 + 10+2 + 10+3
    assert outputs_of(wf, result) == (46, 4, "rank 0")


def test_rank_zeros_gathered_list_feeds_a_plain_task() -> None:
    result, wf = run(mpi_tasks.gather_then_double, n=5)
    assert result.phase == WorkflowPhase.SUCCEEDED, result.error
    assert outputs_of(wf, result) == 2 * (5 + 10)


def test_a_rank_that_raises_fails_the_attempt_naming_the_rank_and_is_retried() -> None:
    result, _ = run(mpi_tasks.raise_on_rank_one, n=3)
    assert result.phase == WorkflowPhase.FAILED
    error = result.error
    assert error.code == "USER:MPIRankError" and error.retryable, error
    assert "rank 1 of 3 raised ValueError: rank one refuses 3" in error.message
    assert "raise_on_rank_one" in error.message  # the rank's traceback, from the user's code
    failed = [e for e in result.events if e.kind == "task" and e.error is not None]
    assert [(e.attempt, e.phase.name) for e in failed] == [(0, "RETRYABLE_FAILURE"), (1, "FAILED")]


def test_a_killed_rank_fails_the_attempt_as_a_lost_rank() -> None:
    result, _ = run(mpi_tasks.rank_one_killed, n=3)
    assert result.phase == WorkflowPhase.FAILED
    error = result.error
    assert error.code == "SYSTEM:MPIRankLostError" and error.retryable, error
    assert "rank 1 of 2 died of signal 9 (Killed)" in error.message


def test_a_timeout_kills_mpirun_every_rank_and_what_they_started(home: Path) -> None:
    marker = f"wingspan-mpi-test-{uuid.uuid4().hex}"
    started = time.monotonic()
    result, _ = run(mpi_tasks.sleeps_past_its_timeout, marker=marker)
    assert result.phase == WorkflowPhase.TIMED_OUT
    assert time.monotonic() - started < 60
    error = result.error
    assert error.code == "TIMEOUT", error
    assert "mpirun and all 2 ranks were killed" in error.message
    jobs = list((home / "home" / "logs").rglob("mpi/*/request.json"))
    assert len(jobs) == 1, jobs
    assert job_processes(str(jobs[0].parent)) == []  # mpirun and the ranks
    assert job_processes(marker) == []  # the children the ranks started
