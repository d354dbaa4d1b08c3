"""``Spark(...)``: what a Spark task asks of its session."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

__all__ = ["TASK_TYPE", "Spark"]

TASK_TYPE = "spark"


@dataclass(frozen=True)
class Spark:
    """The Spark settings of a task: ``@task(task_config=Spark(executor_instances=2))``.

    Locally (the default target) the session runs in local mode with
    ``executor_instances * executor_cores`` threads; on Kubernetes these size the
    SparkApplication's executors. ``spark_conf`` and ``hadoop_conf`` go to the session as
    they are (``hadoop_conf`` keys without their ``spark.hadoop.`` prefix).
    """

    spark_conf: Mapping[str, str] = field(default_factory=dict)
    hadoop_conf: Mapping[str, str] = field(default_factory=dict)
    executor_instances: int = 1
    executor_cores: int = 1
    executor_memory: str = "1g"
    driver_memory: str = "1g"

    task_type: ClassVar[str] = TASK_TYPE

    def __post_init__(self) -> None:
        problems = []
        if self.executor_instances < 1:
            problems.append(f"executor_instances is {self.executor_instances}; give 1 or more")
        if self.executor_cores < 1:
            problems.append(f"executor_cores is {self.executor_cores}; give 1 or more")
        for name in ("executor_memory", "driver_memory"):
            value = getattr(self, name)
            if not (isinstance(value, str) and value[:-1].isdigit() and value[-1].lower() in "kmgt"):
                problems.append(f"{name} is {value!r}; give a size like '512m' or '2g'")
        for name in ("spark_conf", "hadoop_conf"):
            bad = [k for k, v in dict(getattr(self, name)).items() if not isinstance(k, str)
                   or not isinstance(v, str | int | float | bool)]
            if bad:
                problems.append(f"{name} has keys {bad} whose key is not a string or whose value is "
                                "not a string, number or boolean")
        if problems:
            raise ValueError("Spark(...): " + "; ".join(problems))

    def to_custom(self) -> dict[str, Any]:
        """The task template's custom part: the settings as one JSON text."""
        data = asdict(self)
        data["spark_conf"] = {k: str(v) for k, v in dict(self.spark_conf).items()}
        data["hadoop_conf"] = {k: str(v) for k, v in dict(self.hadoop_conf).items()}
        return {"spark": json.dumps(data, sort_keys=True)}

    @classmethod
    def from_custom(cls, custom: Mapping[str, Any]) -> Spark:
        """The settings back from a template's custom part (``{"spark": json}``)."""
        text = custom.get("spark")
        if not isinstance(text, str):
            raise ValueError("this task's template has no Spark settings (custom 'spark' is missing): "
                             "declare it with @task(task_config=Spark(...))")
        return cls(**json.loads(text))
