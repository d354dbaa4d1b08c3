"""Engine overhead side by side with flytekit and Prefect (issue: the engine).

Runs the same three workloads in each system, each in a fresh process of its own
virtualenv, and prints times, per-node overhead, peak memory and our time divided
by theirs:

- chain: a workflow of N no-op tasks, each feeding the next (per chained node);
- map:   one task mapped over N items as users write it, no concurrency given (per item);
- map-tuned: the same map with ``concurrency=4`` (Prefect has no such knob: its plain map);
- cold:  a whole process that defines and runs a one-task workflow.

    python bench/engine_bench.py                 # wingspan alone
    python bench/engine_bench.py --setup         # create bench/.venvs/{flytekit,prefect}
    python bench/engine_bench.py --peers         # side by side (after --setup)

Figures are medians of --repeat runs. Python writes bytecode caches here (the
variable that disables them is removed for the children), as on a user's machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
VENVS = HERE / ".venvs"
SYSTEMS = {
    "wingspan": (Path(sys.executable), HERE / "peers" / "wingspan_workload.py"),
    "flytekit": (VENVS / "flytekit" / "bin" / "python", HERE / "peers" / "flytekit_workload.py"),
    "prefect": (VENVS / "prefect" / "bin" / "python", HERE / "peers" / "prefect_workload.py"),
}
PACKAGES = {"flytekit": "flytekit", "prefect": "prefect"}


def setup() -> None:
    for name, package in PACKAGES.items():
        folder = VENVS / name
        if not (folder / "bin" / "python").exists():
            subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
        subprocess.run([str(folder / "bin" / "python"), "-m", "pip", "install", "-q", package], check=True)


def measure(system: str, scenario: str, size: int, repeat: int) -> dict[str, float]:
    python, script = SYSTEMS[system]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    runs = []
    for _ in range(repeat + 1):  # the first run writes bytecode caches
        done = subprocess.run([str(python), str(script), scenario, str(size)], env=env,
                              capture_output=True, text=True, timeout=1800)
        if done.returncode != 0:
            raise SystemExit(f"{system} {scenario} failed:\n{done.stderr[-2000:]}")
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    runs = runs[1:]
    return {"seconds": statistics.median(r["seconds"] for r in runs),
            "peak_mb": max(r["peak_mb"] for r in runs),
            # the measured run's own peak above the process's before it
            "run_peak_mb": max(r["peak_mb"] - r.get("before_mb", r["peak_mb"]) for r in runs)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--setup", action="store_true", help="create the peers' virtualenvs")
    parser.add_argument("--peers", action="store_true", help="also run flytekit and Prefect")
    parser.add_argument("--chain", type=int, default=1000)
    parser.add_argument("--map", type=int, default=10_000)
    parser.add_argument("--prefect-map", type=int, default=1000,
                        help="Prefect's map size (a task run costs it milliseconds)")
    parser.add_argument("--prefect-chain", type=int, default=200, help="Prefect's chain length")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if args.setup:
        setup()
        return
    systems = ["wingspan"] + (["flytekit", "prefect"] if args.peers else [])
    scenarios = [("chain", args.chain, "per node"), ("map", args.map, "per item"),
                 ("map-tuned", args.map, "per item"), ("cold", 1, "process")]
    results: dict[tuple[str, str], dict[str, float]] = {}
    load = ", ".join(f"{figure:.2f}" for figure in os.getloadavg())
    print(f"python {sys.version.split()[0]}; median of {args.repeat} runs; load average {load}\n")
    print(f"{'system':<10} {'workload':<16} {'total s':>9} {'overhead':>14} {'peak MB':>8} "
          f"{'run peak/item':>14}")
    for system in systems:
        for scenario, size, unit in scenarios:
            if system == "prefect" and scenario != "cold":
                size = args.prefect_map if scenario.startswith("map") else args.prefect_chain
            figures = measure(system, scenario, size, args.repeat)
            figures["per"] = figures["seconds"] / size
            results[(system, scenario)] = figures
            per = f"{figures['per'] * 1e6:,.0f} us" if scenario != "cold" else f"{figures['per']:.2f} s"
            per_item = (f"{figures['run_peak_mb'] * 2**20 / size:,.0f} B" if scenario.startswith("map")
                        else "")
            print(f"{system:<10} {scenario + ' ' + str(size):<16} {figures['seconds']:>9.3f} "
                  f"{per:>11} {unit:<3} {figures['peak_mb']:>7.0f} {per_item:>14}")
    if args.peers:
        print("\nwingspan time / theirs (per node, per item, per cold start; lower is better)")
        for peer in ("flytekit", "prefect"):
            ratios = ", ".join(
                f"{scenario} {results[('wingspan', scenario)]['per'] / results[(peer, scenario)]['per']:.3g}"
                for scenario, _, _ in scenarios)
            print(f"  vs {peer}: {ratios}")


if __name__ == "__main__":
    main()
