"""A Spark pipeline (needs wingspan-spark[local] and Java 17 or 21): Spark tasks get a ready
session as ``current_context().spark_session``; the Spark frames they return are written as
Parquet by the executors and arrive in the next task as a Spark or a pandas frame."""

import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from wingspan_spark import Spark

from wingspan import current_context, task, workflow

SPARK = Spark(executor_instances=2, spark_conf={"spark.sql.shuffle.partitions": "2"})


@task(task_config=SPARK)
def make_sales(rows: int) -> DataFrame:
    spark: SparkSession = current_context().spark_session
    return spark.range(rows).selectExpr("IF(id % 3 = 0, 'eu', 'us') AS region", "id AS amount")


@task(task_config=SPARK)
def by_region(sales: DataFrame) -> DataFrame:
    return sales.groupBy("region").sum("amount").withColumnRenamed("sum(amount)", "amount")


@task
def top_region(totals: pd.DataFrame) -> str:
    best = totals.sort_values("amount").iloc[-1]
    return f"{best['region']}={int(best['amount'])}"


@workflow
def spark_sales(rows: int = 30) -> str:
    return top_region(totals=by_region(sales=make_sales(rows=rows)))
