"""The Ray example end to end through `wingspan serve` as a real process (its engine runs the ray
tasks on its ray-local workers, from the registered code bundle): the right outputs over gRPC
(the CLI) and the execution's success over HTTP. One cluster start (about 10 s here)."""

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


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[str, str]]:
    async with wingspan_serve(env={"WINGSPAN_HOME": str(tmp_path / "home")}) as (_, http_url, host, port):
        yield http_url, f"{host}:{port}"


async def test_the_ray_example_through_wingspan_serve(served: tuple[str, str]) -> None:
    http_url, endpoint = served
    example = ROOT / "examples" / "ray_squares.py"
    done = await anyio.run_process(
        [sys.executable, "-m", "wingspan.cli", "run", "--remote", str(example), "ray_squares", "--n", "10",
         "--endpoint", endpoint], check=False)
    assert done.returncode == 0, done.stderr.decode()
    # 0 + 4 + 16 + 36 + 64 over the even numbers below 10, and 10 rows
    assert done.stdout.decode().strip().splitlines() == ["o0: 120", "o1: 10"]
    async with httpx.AsyncClient(base_url=http_url) as client:
        listed = await client.post("/api/v1/ListExecutions", json={"project": "default",
                                                                   "domain": "development", "limit": 10})
        assert listed.status_code == 200, listed.text
        phases = [e["closure"]["phase"] for e in listed.json()["executions"]]
    assert phases == ["WORKFLOW_PHASE_SUCCEEDED"], listed.text
