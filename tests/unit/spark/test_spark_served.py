"""examples/spark_sales.py end to end through `wingspan serve` (a real server process):
registered, run with `wingspan run --remote`, its Spark tasks in the server's Spark workers
(the registered bundle's code on the executors' path), its frames as Parquet in the store."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import anyio
import pytest

from tests.unit.api.served import wingspan_serve

pytestmark = pytest.mark.slow
EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


async def test_the_spark_example_runs_through_wingspan_serve(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(EXAMPLES / "spark_sales.py", project / "spark_sales.py")
    home = tmp_path / "home"
    async with wingspan_serve(env={"WINGSPAN_HOME": str(home)}) as (_, _http, host, port):
        done = await anyio.run_process(
            [sys.executable, "-m", "wingspan.cli", "run", "--remote", str(project / "spark_sales.py"),
             "spark_sales", "--rows", "30", "--endpoint", f"{host}:{port}"], check=False)
    assert done.returncode == 0, done.stderr.decode()
    # eu: 0, 3, ..., 27 (sum 135); us: the other 20 (sum 435 - 135 = 300)
    assert done.stdout.decode().strip() == "us=300"
    parts = [p for p in home.rglob("part-*.parquet") if p.parent.name == "spark-frame"]
    assert parts, "the Spark frames were not written as Parquet parts into the store"
