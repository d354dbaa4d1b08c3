"""The Spark plugin without a JVM: its task config checks what it is given, crosses the
template and comes back; `wingspan plugins list` shows it with its task type; an executor's
failure is recognised from what pyspark raises; frames stored as a folder of Parquet parts
(as the executors write them) are read by the pandas and arrow transformers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from wingspan_spark import Spark
from wingspan_spark._errors import executor_failure
from wingspan_spark._session import session_conf, settings_of

from wingspan import task
from wingspan.core.model.literals import Literal, StructuredDataset, StructuredDatasetType
from wingspan.core.storage.local import LocalBlobStore
from wingspan.core.types import TransferContext, default_engine

ROOT = Path(__file__).resolve().parents[3]


def test_spark_settings_are_checked_when_declared() -> None:
    with pytest.raises(ValueError) as caught:
        Spark(executor_instances=0, driver_memory="lots")
    assert "executor_instances is 0; give 1 or more" in str(caught.value)
    assert "driver_memory is 'lots'; give a size like '512m' or '2g'" in str(caught.value)


def test_spark_settings_cross_the_template_and_become_the_sessions_settings() -> None:
    given = Spark(spark_conf={"spark.sql.shuffle.partitions": "3"}, hadoop_conf={"fs.x": "1"},
                  executor_instances=2, executor_cores=2, driver_memory="2g")

    @task(task_config=given)
    def body(x: int) -> int:
        return x

    template = body.template
    assert template.type == "spark"
    assert settings_of(template) == given
    from wingspan_spark._config import SparkPluginConfig

    conf = session_conf(given, SparkPluginConfig(max_local_cores=3))
    assert conf["spark.master"] == "local[3]"  # 2 x 2 asked, 3 allowed here
    assert conf["spark.sql.shuffle.partitions"] == "3" and conf["spark.hadoop.fs.x"] == "1"
    assert conf["spark.driver.memory"] == "2g"


def test_plugins_list_shows_spark_with_its_task_type() -> None:
    done = subprocess.run([sys.executable, "-m", "wingspan.cli", "plugins", "list"], cwd=ROOT, text=True,
                          capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr
    row = next(line for line in done.stdout.splitlines() if line.startswith("spark "))
    assert "task plugins: spark-k8s (spark), spark-local (spark)" in row
    assert "task environments: SparkEnvironment (spark)" in row and "type transformers: spark" in row


def test_an_executor_failure_is_told_apart_from_other_errors() -> None:
    class PythonException(Exception):  # what pyspark raises for a failed Python function
        __module__ = "pyspark.errors.exceptions.captured"

    raised = PythonException("An exception was thrown from the Python worker.\nTraceback (most recent call "
                             "last):\n  File \"t.py\", line 3, in f\nValueError: bad row 3\n")
    said = executor_failure(raised)
    assert said is not None and said.startswith("a Spark job of this task failed on an executor: "
                                                "ValueError: bad row 3")
    assert executor_failure(ValueError("mine")) is None


async def test_a_folder_of_parquet_parts_reads_as_one_frame(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path.as_uri())
    folder = tmp_path / "frame"
    folder.mkdir()
    pq.write_table(pa.table({"id": [1, 2]}), folder / "part-00000.parquet")
    pq.write_table(pa.table({"id": [3]}), folder / "part-00001.parquet")
    (folder / "_SUCCESS").write_text("")
    (folder / ".part-00000.parquet.crc").write_bytes(b"not parquet")
    literal = Literal("structured_dataset", StructuredDataset(
        store.uri("frame") + "/", StructuredDatasetType("parquet", (), "spark")))
    ctx = TransferContext(store, store.uri("out"))
    frame = await default_engine().to_python(literal, pd.DataFrame, ctx)
    assert sorted(frame["id"]) == [1, 2, 3]
    table = await default_engine().to_python(literal, pa.Table, ctx)
    assert table.num_rows == 3
