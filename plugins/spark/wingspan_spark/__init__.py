"""Spark tasks for Wingspan (the SDK half): ``@task(task_config=Spark(...))`` gives the body
a ready Spark session as ``current_context().spark_session``, and a Spark DataFrame returned
from a task is written as Parquet by the executors and arrives in the next task as a Spark,
pandas or arrow frame (by its annotation).

Importing this module registers the Spark DataFrame type with the process's type engine
(so that a task annotated with it is checked as a data frame when it is declared); it loads
neither pyspark nor the backend.
"""

from __future__ import annotations

from wingspan.core.types import default_engine
from wingspan_spark._frames import TRANSFORMER
from wingspan_spark._task_config import Spark

if TRANSFORMER not in default_engine().transformers:
    default_engine().register(TRANSFORMER, first=True)

__all__ = ["Spark"]
