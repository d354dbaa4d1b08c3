"""Spark tasks for test_spark_local: at module level, so the workers can import them."""

from __future__ import annotations

import os
import signal
import time
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession
from wingspan_spark import Spark

from wingspan import current_context, task, workflow

SPARK = Spark(executor_instances=2, spark_conf={"spark.sql.shuffle.partitions": "2"})


@task(task_config=SPARK)
def squares(n: int) -> DataFrame:
    spark: SparkSession = current_context().spark_session
    return spark.range(n).selectExpr("id", "id * id AS sq").repartition(2)


@task(task_config=SPARK)
def total(df: DataFrame) -> int:
    return int(df.groupBy().sum("sq").collect()[0][0])


@task
def rows_in_pandas(df: pd.DataFrame) -> int:
    return len(df)


@task
def sq_sum_in_arrow(df: pa.Table) -> int:
    return int(df.column("sq").to_pandas().sum())


@task(task_config=SPARK)
def doubled(df: pd.DataFrame) -> DataFrame:
    # a pandas frame from a Python task, taken into Spark
    spark: SparkSession = current_context().spark_session
    return spark.createDataFrame(df).selectExpr("id * 2 AS id")


@task
def small(n: int) -> pd.DataFrame:
    return pd.DataFrame({"id": list(range(n))})


@task(task_config=SPARK)
def id_sum(df: DataFrame) -> int:
    return int(df.groupBy().sum("id").collect()[0][0])


@workflow
def frames(n: int) -> tuple[int, int, int, int]:
    made = squares(n=n)
    from_pandas = id_sum(df=doubled(df=small(n=n)))
    return total(df=made), rows_in_pandas(df=made), sq_sum_in_arrow(df=made), from_pandas


@task(task_config=SPARK)
def session_facts(x: int) -> tuple[int, str]:
    spark = current_context().spark_session
    return os.getpid(), spark.sparkContext.applicationId


@task(task_config=Spark(executor_instances=1, spark_conf={"spark.sql.shuffle.partitions": "3"}))
def other_settings_facts(x: int) -> tuple[int, str]:
    spark = current_context().spark_session
    return os.getpid(), spark.sparkContext.applicationId


def _fail_on_row(value: int) -> int:
    if value == 3:
        raise ValueError(f"bad row {value}")
    return value


@task(task_config=SPARK)
def fails_on_an_executor(n: int) -> int:
    from pyspark.sql.functions import udf

    spark = current_context().spark_session
    check = udf(_fail_on_row, "long")
    return int(spark.range(n).select(check("id").alias("v")).groupBy().sum("v").collect()[0][0])


@task(task_config=SPARK, retries=1)
def fails_once_on_an_executor(n: int) -> int:
    spark = current_context().spark_session
    if current_context().attempt == 0:
        from pyspark.sql.functions import udf

        spark.range(n).select(udf(_fail_on_row, "long")("id")).collect()
    return int(spark.range(n).groupBy().sum("id").collect()[0][0])


@task(task_config=SPARK, cache=True, cache_version="1")
def counted(n: int, marker: str) -> int:
    with Path(marker).open("a") as file:
        file.write("ran\n")
    return int(current_context().spark_session.range(n).count())


@task(task_config=SPARK)
def kills_its_worker(x: int) -> int:
    current_context().spark_session.range(10).count()
    os.kill(os.getpid(), signal.SIGKILL)
    return x


def _slow(value: int) -> int:
    time.sleep(120)
    return value


@task(task_config=SPARK, timeout=timedelta(seconds=8))
def too_slow(n: int) -> int:
    from pyspark.sql.functions import udf

    spark = current_context().spark_session
    # summed, not counted: Spark would count rows without calling the function
    return int(spark.range(n).select(udf(_slow, "long")("id").alias("v")).groupBy().sum("v").collect()[0][0])
