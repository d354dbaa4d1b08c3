"""examples/spark_sales.py end to end through `wingspan serve` (a real server process):
registered, run with `wingspan run --remote`, its Spark tasks in the server's Spark workers
(the registered bundle's code on the executors' path), its frames as Parquet in the store;
then an execution aborted while its Spark job runs: ABORTED, and its worker (with the JVM
it started) is gone. One server for both: the JVM starts once."""

from __future__ import annotations

import os
import shutil
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import anyio
import pytest

from tests.unit.api.served import wingspan_serve
from wingspan._remote.client import AsyncRemote
from wingspan.core.model.execution import WorkflowPhase

pytestmark = pytest.mark.slow
EXAMPLES = Path(__file__).resolve().parents[3] / "examples"

STUCK = """
    import os
    import time
    from pathlib import Path

    from pyspark.sql.functions import udf
    from wingspan_spark import Spark

    from wingspan import current_context, task

    def _stall(value: int) -> int:
        time.sleep(600)
        return value

    @task(task_config=Spark(executor_instances=2, spark_conf={"spark.sql.shuffle.partitions": "2"}))
    def stuck(marker: str) -> int:
        spark = current_context().spark_session
        Path(marker).write_text(str(os.getpid()))
        stalled = spark.range(2).select(udf(_stall, "long")("id").alias("v"))
        return int(stalled.groupBy().sum("v").collect()[0][0])
"""


async def _until(check: Callable[[], bool], seconds: float) -> None:
    """Polls ``check`` (a file or a process appearing or going) until it holds."""
    with anyio.fail_after(seconds):
        while True:
            if check():
                return
            await anyio.sleep(0.2)


async def test_the_spark_example_runs_and_an_abort_stops_its_worker_through_wingspan_serve(
        tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(EXAMPLES / "spark_sales.py", project / "spark_sales.py")
    (project / "spark_stuck.py").write_text(textwrap.dedent(STUCK))
    home = tmp_path / "home"
    marker = tmp_path / "worker.pid"
    async with wingspan_serve(env={"WINGSPAN_HOME": str(home)}) as (_, _http, host, port):
        done = await anyio.run_process(
            [sys.executable, "-m", "wingspan.cli", "run", "--remote", str(project / "spark_sales.py"),
             "spark_sales", "--rows", "30", "--endpoint", f"{host}:{port}"], check=False)
        remote = AsyncRemote(f"{host}:{port}")
        try:
            await remote.register(project)
            stuck = await remote.execute("spark_stuck.stuck", {"marker": str(marker)})
            await _until(marker.exists, 300)  # the Spark task started
            worker = int(marker.read_text())
            await remote.terminate(stuck, "the test aborts it")
            await stuck.wait(120)
        finally:
            await remote.aclose()
        assert stuck.phase == WorkflowPhase.ABORTED, stuck.error
        await _until(lambda: not os.path.exists(f"/proc/{worker}"), 60)  # the worker ended
    assert done.returncode == 0, done.stderr.decode()
    # eu: 0, 3, ..., 27 (sum 135); us: the other 20 (sum 435 - 135 = 300)
    assert done.stdout.decode().strip() == "us=300"
    parts = [p for p in home.rglob("part-*.parquet") if p.parent.name == "spark-frame"]
    assert parts, "the Spark frames were not written as Parquet parts into the store"
