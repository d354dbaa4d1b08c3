"""The main file of a SparkApplication's driver (``k8s_main_application_file``): runs the
attempt with the arguments the application carries, as ``wingspan execute`` would.

spark-submit starts this file with the JVM already up; the attempt's Python process inherits
its gateway (``PYSPARK_GATEWAY_PORT``), so the task's session is the application's own, on
its executors, with the settings spark-submit was given.
"""

from __future__ import annotations

import subprocess
import sys


def main(argv: list[str]) -> int:
    return subprocess.call([sys.executable, "-m", "wingspan.cli", "execute", *argv])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
