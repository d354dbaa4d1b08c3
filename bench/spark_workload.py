"""The work both sides of bench/spark_bench.py do: a sum of squares over N rows in Spark.
Run as ``python bench/spark_workload.py plain|wingspan ROWS REPEAT``; prints one JSON line
of seconds: the first run (cold: the process, the JVM, the session) and each later one."""

from __future__ import annotations

import json
import os
import sys
import time

from pyspark.sql import SparkSession
from wingspan_spark import Spark

from wingspan import current_context, task

SETTINGS = Spark(executor_instances=2, spark_conf={"spark.sql.shuffle.partitions": "2"})


def work(spark: SparkSession, rows: int) -> int:
    return int(spark.range(rows).selectExpr("sum(id * id) AS s").collect()[0][0])


@task(task_config=SETTINGS)
def squares(rows: int) -> int:
    return work(current_context().spark_session, rows)


def plain(rows: int, repeat: int, started: float) -> list[float]:
    os.environ.setdefault("JAVA_HOME", "/usr/lib/jvm/java-17-openjdk-amd64")
    builder = SparkSession.builder.master("local[2]")
    for key, value in {"spark.ui.enabled": "false", "spark.ui.showConsoleProgress": "false",
                       "spark.driver.host": "127.0.0.1", "spark.driver.bindAddress": "127.0.0.1",
                       "spark.sql.shuffle.partitions": "2"}.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    times = []
    for _ in range(repeat):
        work(spark, rows)
        times.append(time.perf_counter() - started)
        started = time.perf_counter()
    spark.stop()
    return times


def wingspan(rows: int, repeat: int, started: float) -> list[float]:
    from wingspan._authoring.workflow import single_node_workflow
    from wingspan._runner.run import outputs_of, run_workflow_entity

    flow = single_node_workflow(squares)
    times = []
    for _ in range(repeat):
        result = run_workflow_entity(flow, {"rows": rows})
        assert outputs_of(flow, result) == sum(i * i for i in range(rows)), result.error
        times.append(time.perf_counter() - started)
        started = time.perf_counter()
    return times


if __name__ == "__main__":
    started = time.perf_counter()
    side, rows, repeat = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    print(json.dumps((plain if side == "plain" else wingspan)(rows, repeat, started)))
