"""Per-attempt overhead of the Spark plugin's local backend, cold and warm, beside a plain
pyspark script doing the same work (issue #20).

Each side runs in a fresh process: the plain script starts a local session and runs the job
REPEAT times; the Wingspan side runs a one-task workflow (a Spark task doing the same job)
REPEAT times, as a local run whose Spark task runs in a warm worker. Cold is the first run
from the process's start (interpreter, JVM, session); warm is the median of the later ones
(Wingspan's: the same worker and session, no new JVM).

    python bench/spark_bench.py [--rows 100000] [--repeat 6] [--rounds 1]

It needs wingspan-spark[local] (scripts/dev-install installs it) and Java 17 or 21.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def measure(side: str, rows: int, repeat: int) -> list[float]:
    with tempfile.TemporaryDirectory(prefix="wingspan-spark-bench-") as home:
        env = {**os.environ, "WINGSPAN_HOME": home}
        env.pop("WINGSPAN_TASK_TARGETS", None)
        done = subprocess.run([sys.executable, str(HERE / "spark_workload.py"), side, str(rows), str(repeat)],
                              env=env, cwd=HERE, capture_output=True, text=True, timeout=1800, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{side} failed:\n{done.stderr[-4000:]}")
    times: list[float] = json.loads(done.stdout.strip().splitlines()[-1])
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=1, help="fresh processes per side (medians)")
    args = parser.parse_args()
    cold: dict[str, list[float]] = {"plain": [], "wingspan": []}
    warm: dict[str, list[float]] = {"plain": [], "wingspan": []}
    for _ in range(args.rounds):
        for side in ("plain", "wingspan"):
            times = measure(side, args.rows, args.repeat)
            cold[side].append(times[0])
            warm[side].extend(times[1:])
    c = {k: statistics.median(v) for k, v in cold.items()}
    w = {k: statistics.median(v) for k, v in warm.items()}
    print(f"python {sys.version.split()[0]}; {args.rows} rows; median of {args.rounds} cold and "
          f"{args.rounds * (args.repeat - 1)} warm runs per side; load {os.getloadavg()[0]:.1f}")
    print(f"{'':10}{'plain pyspark s':>18}{'wingspan s':>14}{'ratio':>8}{'overhead s':>13}")
    for label, data in (("cold", c), ("warm", w)):
        print(f"{label:10}{data['plain']:18.3f}{data['wingspan']:14.3f}"
              f"{data['wingspan'] / data['plain']:8.2f}{data['wingspan'] - data['plain']:13.3f}")


if __name__ == "__main__":
    main()
