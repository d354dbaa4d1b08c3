"""The local backend's Spark session: a task environment that starts pyspark in local mode
in the process that runs Spark bodies (a warm local-process worker) and keeps it between
attempts. A second attempt with the same settings finds the session (and its JVM) up; other
settings stop the session and start one with them (in the same JVM).

An attempt's cached tables are dropped when it ends, so that they do not fill the memory
of the next one.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from wingspan.plugin import TaskEnvironment, TaskTemplate, UserError
from wingspan_spark._config import SparkPluginConfig, java_home
from wingspan_spark._errors import SparkExecutorError, executor_failure
from wingspan_spark._frames import set_active_session
from wingspan_spark._task_config import TASK_TYPE, Spark

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = ["SparkEnvironment", "launched_by_spark_submit", "local_master", "session_conf", "settings_of",
           "submitted_conf"]

_log = logging.getLogger("wingspan.spark")

# what makes a session start fast and quiet on one machine; a task's spark_conf wins
_LOCAL_DEFAULTS = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.sql.session.timeZone": "UTC",
}


def settings_of(template: TaskTemplate) -> Spark:
    """The Spark settings a task's template carries."""
    custom = template.custom.literals if template.custom else {}
    return Spark.from_custom({k: v.value for k, v in custom.items()})


def local_master(spark: Spark, config: SparkPluginConfig) -> str:
    cores = spark.executor_instances * spark.executor_cores
    most = config.max_local_cores or os.cpu_count() or 1
    return f"local[{max(1, min(cores, most))}]"


def session_conf(spark: Spark, config: SparkPluginConfig) -> dict[str, str]:
    """Every setting of the local session for ``spark``: the local defaults, the task's
    settings, its hadoop settings (``spark.hadoop.``-prefixed) and its driver memory."""
    cores = int(local_master(spark, config)[6:-1])
    conf = {**_LOCAL_DEFAULTS, "spark.master": local_master(spark, config),
            "spark.sql.shuffle.partitions": str(max(2, cores)), "spark.driver.memory": spark.driver_memory,
            "spark.executor.memory": spark.executor_memory}
    conf.update({k: str(v) for k, v in spark.spark_conf.items()})
    conf.update({f"spark.hadoop.{k}": str(v) for k, v in spark.hadoop_conf.items()})
    return conf


def launched_by_spark_submit() -> bool:
    """Whether this process runs under spark-submit's JVM (its Python gateway is set)."""
    return bool(os.environ.get("PYSPARK_GATEWAY_PORT"))


def submitted_conf(spark: Spark) -> dict[str, str]:
    """The settings a submitted driver adds to what spark-submit gave: only the task's own
    (its master, memory and executors are the application's)."""
    conf = {k: str(v) for k, v in spark.spark_conf.items()}
    conf.update({f"spark.hadoop.{k}": str(v) for k, v in spark.hadoop_conf.items()})
    return conf


class SparkEnvironment(TaskEnvironment):
    """Gives a Spark body ``current_context().spark_session``, warm between attempts."""

    task_types: ClassVar[tuple[str, ...]] = (TASK_TYPE,)
    provides: ClassVar[tuple[str, ...]] = ("spark_session",)

    def __init__(self, config: SparkPluginConfig | None = None) -> None:
        self.config = config or SparkPluginConfig()
        self._lock = threading.Lock()
        self._session: SparkSession | None = None
        self._conf: dict[str, str] = {}
        #: sessions started by this process (1 while every attempt had the same settings)
        self.starts = 0

    def enter(self, template: TaskTemplate,
              context: Any) -> contextlib.AbstractContextManager[Mapping[str, Any]]:
        return self._attempt(settings_of(template))

    @contextlib.contextmanager
    def _attempt(self, spark: Spark) -> Iterator[Mapping[str, Any]]:
        session = self.session(spark)
        try:
            yield {"spark_session": session}
        except Exception as exc:
            failure = executor_failure(exc)
            if failure is not None:
                raise SparkExecutorError(failure) from exc
            raise
        finally:
            with contextlib.suppress(Exception):  # a session that died has nothing to clear
                session.catalog.clearCache()

    def session(self, spark: Spark) -> SparkSession:
        """The warm session if it has ``spark``'s settings, else a new one with them. Under
        spark-submit (a SparkApplication's driver) the session is the submitted application's,
        with the task's own settings over it."""
        submitted = launched_by_spark_submit()
        conf = submitted_conf(spark) if submitted else session_conf(spark, self.config)
        with self._lock:
            if self._session is not None and conf == self._conf:
                return self._session
            try:
                from pyspark.sql import SparkSession
            except ImportError as exc:
                raise UserError("a Spark task runs locally with pyspark, which is not installed here: "
                                "pip install 'wingspan-spark[local]'") from exc
            if self._session is not None:  # other settings: a context of their own
                _log.info("Spark settings changed; restarting the session")
                self._session.stop()
            if not submitted:  # a submitted driver's JVM is up already
                os.environ["JAVA_HOME"] = java_home(self.config)
            # the executors' Python workers (started by the JVM, which inherits this
            # environment) must import the task's code as this process does: a function
            # of the task's module shipped to them is unpickled there
            os.environ["PYTHONPATH"] = os.pathsep.join(
                dict.fromkeys([p for p in sys.path if p] + os.environ.get("PYTHONPATH", "").split(os.pathsep))
            )
            # a submitted driver keeps its application's name (the SparkApplication's)
            builder = SparkSession.builder if submitted else SparkSession.builder.appName("wingspan")
            for key, value in conf.items():
                builder = builder.config(key, value)
            self._session = builder.getOrCreate()
            set_active_session(self._session)
            self._conf = conf
            self.starts += 1
            return self._session

    def close(self) -> None:
        with self._lock:
            if self._session is not None:
                with contextlib.suppress(Exception):
                    self._session.stop()
                self._session = None
                set_active_session(None)
