"""The Dask example end to end through `wingspan serve` as a real process (its engine runs the
dask tasks on its dask-local workers): the right outputs; a worker's exception named in the
execution's error over gRPC (the CLI) and HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.unit.api.served import run_remote, served_at_home

ROOT = Path(__file__).resolve().parents[3]

pytestmark = pytest.mark.slow

FAILING = '''
from wingspan import current_context, task
from wingspan_dask import Dask


def fail_on_worker(x: int) -> int:
    raise ValueError(f"no good: {x}")


@task(task_config=Dask(workers=2))
def raise_on_worker(n: int) -> int:
    return int(current_context().dask_client.submit(fail_on_worker, n).result())
'''


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[str, str]]:
    async with served_at_home(tmp_path / "home") as answer:
        yield answer


async def test_the_dask_example_and_a_worker_failure_through_wingspan_serve(
        served: tuple[str, str], tmp_path: Path) -> None:
    http_url, endpoint = served
    example = ROOT / "examples" / "dask_frames.py"
    code, out, err = await run_remote(endpoint, example, "dask_frames", "--n", "10")
    assert code == 0, err
    assert out.splitlines() == ["o0: 120", "o1: 10"], out

    project = tmp_path / "project"
    project.mkdir()
    (project / "dask_failing.py").write_text(FAILING)
    code, out, err = await run_remote(endpoint, project / "dask_failing.py", "raise_on_worker", "--n", "3")
    assert code != 0
    assert "DaskTaskError" in err and "failed on worker tcp://" in err and "no good: 3" in err, err
    async with httpx.AsyncClient(base_url=http_url) as client:
        listed = await client.post("/api/v1/ListExecutions", json={"project": "default",
                                                                   "domain": "development", "limit": 10})
        assert listed.status_code == 200, listed.text
        failed = [e for e in listed.json()["executions"]
                  if "DaskTaskError" in str(e.get("closure", {}).get("error", ""))]
    assert failed, listed.text
    assert "failed on worker tcp://" in str(failed[0]["closure"]["error"])
