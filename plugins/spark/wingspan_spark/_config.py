"""The plugin's settings: its ``[plugins.spark]`` table (``WINGSPAN_PLUGINS__SPARK__<KEY>``)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["JAVA_HOMES", "SparkPluginConfig", "java_home"]

#: Java homes tried, in order, when neither the settings nor JAVA_HOME name one (pyspark 4
#: runs on Java 17 and 21)
JAVA_HOMES = ("/usr/lib/jvm/java-17-openjdk-amd64", "/usr/lib/jvm/java-21-openjdk-amd64")


@dataclass(frozen=True)
class SparkPluginConfig:
    # the JDK the local session runs on ("": $JAVA_HOME, else Debian's OpenJDK 17 or 21)
    java_home: str = ""
    # the most threads a local session takes ("local[N]"), whatever a task asks (0: all CPUs)
    max_local_cores: int = 0
    # Kubernetes (target spark-k8s: a SparkApplication per attempt; the cluster is [plugins.k8s]'s):
    # the image of the driver and executors ("": the task's image, else [plugins.k8s] default_image),
    # the driver's main file in that image (wingspan_spark/driver.py, which runs the attempt), the
    # image's Spark version, the driver's service account ("": [plugins.k8s] service_account), and
    # fields merged over every SparkApplication's spec (checked against its schema at each start)
    k8s_image: str = ""
    k8s_main_application_file: str = "local:///opt/wingspan/spark_driver.py"
    k8s_spark_version: str = "4.0.0"
    k8s_service_account: str = ""
    k8s_application: dict[str, Any] = field(default_factory=dict)


def java_home(config: SparkPluginConfig) -> str:
    """The JDK for a local session: the configured one, $JAVA_HOME, or one of JAVA_HOMES.
    Raises naming what to set when none is there."""
    for candidate in (config.java_home, os.environ.get("JAVA_HOME", ""), *JAVA_HOMES):
        if candidate and (Path(candidate) / "bin" / "java").exists():
            return candidate
    tried = ", ".join(filter(None, (config.java_home, os.environ.get("JAVA_HOME", ""), *JAVA_HOMES)))
    raise RuntimeError(f"no Java for Spark here (tried {tried}): install OpenJDK 17 or 21 "
                       "(apt-get install openjdk-17-jre-headless) or set [plugins.spark] java_home")
