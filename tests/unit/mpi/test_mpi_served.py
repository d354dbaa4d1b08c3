"""The MPI example end to end through `wingspan serve` as a real process (its engine starts each
mpi task's mpirun job from the registered code bundle): the right outputs; a rank's exception
named in the execution's error over gRPC (the CLI) and HTTP."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import httpx
import pytest

from tests.unit.api.served import wingspan_serve

ROOT = Path(__file__).resolve().parents[3]

pytestmark = pytest.mark.slow

FAILING = '''
from wingspan import current_context, task
from wingspan_mpi import MPI


@task(task_config=MPI(workers=2))
def raise_on_rank_one(n: int) -> int:
    context = current_context()
    if context.mpi_rank == 1:
        raise ValueError(f"rank one says no to {n}")
    return int(context.mpi_comm.allreduce(n))
'''


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[str, str]]:
    async with wingspan_serve(env={"WINGSPAN_HOME": str(tmp_path / "home")}) as (_, http_url, host, port):
        yield http_url, f"{host}:{port}"


async def run_remote(endpoint: str, path: Path, *args: str) -> tuple[int, str, str]:
    done = await anyio.run_process(
        [sys.executable, "-m", "wingspan.cli", "run", "--remote", str(path), *args, "--endpoint", endpoint],
        check=False)
    return done.returncode, done.stdout.decode().strip(), done.stderr.decode()


async def test_the_mpi_example_and_a_rank_failure_through_wingspan_serve(
        served: tuple[str, str], tmp_path: Path) -> None:
    http_url, endpoint = served
    example = ROOT / "examples" / "mpi_pi.py"
    code, out, err = await run_remote(endpoint, example, "mpi_pi", "--intervals", "20000")
    assert code == 0, err
    assert out.splitlines() == ["o0: 3.1416", "o1: 4"], out

    project = tmp_path / "project"
    project.mkdir()
    (project / "mpi_failing.py").write_text(FAILING)
    code, out, err = await run_remote(endpoint, project / "mpi_failing.py", "raise_on_rank_one", "--n", "3")
    assert code != 0
    assert "MPIRankError" in err and "rank 1 of 2 raised ValueError: rank one says no to 3" in err, err
    async with httpx.AsyncClient(base_url=http_url) as client:
        listed = await client.post("/api/v1/ListExecutions", json={"project": "default",
                                                                   "domain": "development", "limit": 10})
        assert listed.status_code == 200, listed.text
        failed = [e for e in listed.json()["executions"]
                  if "MPIRankError" in str(e.get("closure", {}).get("error", ""))]
    assert failed, listed.text
    assert "rank 1 of 2 raised" in str(failed[0]["closure"]["error"])
