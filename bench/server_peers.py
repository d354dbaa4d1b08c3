"""Wingspan's server beside Prefect's and Dagster's on one workload (issue #24 item 6), each in
its own virtualenv on this machine: 40 executions of a 10-task chain created at once (task
executions per minute, server CPU per task), create -> first task running (median, p90), and
one map of 10,000 items (wall time, server CPU per item). Prints a table with Wingspan's figures
as ratios to each peer's and the load average during each system's run.

    python bench/server_peers.py --setup      # create bench/.venvs/{prefect,dagster}-VERSION (pinned)
    python bench/server_peers.py              # Wingspan, Prefect, Dagster in turn
    python bench/server_peers.py --systems wingspan,dagster --items 1000

Wingspan runs through bench/server_bench.py and bench/server_map_bench.py, the peers through
bench/peers/prefect_server.py and bench/peers/dagster_server.py (what each measures, and how
each peer is set up, is in their docstrings). A map that has not ended after --timeout seconds
is recorded as a time-out. --json FILE also writes every figure; --from SYSTEM=FILE takes a
system's figures from FILE (a JSON object, as a harness prints last or --json holds per system)
instead of running it, e.g. to print the table again or add a peer run on its own.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "peers"))

import server_report  # noqa: E402

VENVS = HERE / ".venvs"
PINS = {"prefect": ["prefect==3.9.1"], "dagster": ["dagster==1.13.27", "dagster-webserver==1.13.27"]}


def venv(peer: str) -> Path:
    return VENVS / f"{peer}-{PINS[peer][0].split('==')[1]}"


def setup() -> None:
    for peer, packages in PINS.items():
        folder = venv(peer)
        if not (folder / "bin" / "python").exists():
            subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
        subprocess.run([str(folder / "bin" / "python"), "-m", "pip", "install", "-q", *packages], check=True)


def load() -> str:
    return f"{os.getloadavg()[0]:.2f}"


def run(command: list[str], timeout: float) -> str:
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout[-2000:]}\n"
                         f"{done.stderr[-4000:]}")
    return done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--setup", action="store_true", help="create the peers' virtualenvs and stop")
    parser.add_argument("--systems", default="wingspan,prefect,dagster")
    parser.add_argument("--samples", type=int, default=10, help="latency samples per system")
    parser.add_argument("--executions", type=int, default=40)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds a map may take")
    parser.add_argument("--json", metavar="FILE", help="write every figure to FILE")
    parser.add_argument("--from", dest="given", metavar="SYSTEM=FILE", action="append", default=[],
                        help="take SYSTEM's figures from FILE instead of running it (repeatable)")
    args = parser.parse_args()
    if args.setup:
        setup()
        return
    systems = args.systems.split(",")
    if systems[0] != "wingspan" or any(name not in ("wingspan", *PINS) for name in systems):
        raise SystemExit(f"--systems: wingspan first, then any of {', '.join(PINS)}; got {args.systems}")
    given = dict(item.split("=", 1) for item in args.given)
    for peer in systems[1:]:
        if peer not in given and not (venv(peer) / "bin" / "python").exists():
            raise SystemExit(f"{venv(peer)} is missing: run python bench/server_peers.py --setup first")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores; {args.executions} x 10-task chains, "
          f"{args.samples} latency samples, a map of {args.items:,} (time-out {args.timeout:.0f} s)",
          flush=True)
    results: dict[str, dict[str, object]] = {}
    loads: dict[str, str] = {}
    common = ["--samples", str(args.samples), "--executions", str(args.executions)]
    for system in systems:
        before = load()
        if system in given:
            figures = server_report.parse_peer(system, Path(given[system]).read_text())
            before = "n/a (figures from a file)"
        elif system == "wingspan":
            chains = run([sys.executable, str(HERE / "server_bench.py"), *common], 3600)
            middle = load()
            mapped = run([sys.executable, str(HERE / "server_map_bench.py"), "--items", str(args.items),
                          "--timeout", str(args.timeout)], args.timeout + 600)
            figures: dict[str, object] = dict(server_report.parse_wingspan(chains, mapped))
            figures.update(chain_load=middle, map_load=load(), map_items=args.items,
                           executions=args.executions)
        else:
            output = run([str(venv(system) / "bin" / "python"), str(HERE / "peers" / f"{system}_server.py"),
                          *common, "--items", str(args.items), "--timeout", str(args.timeout)],
                         args.timeout + 3600)
            figures = server_report.parse_peer(system, output)
        results[system] = figures
        loads[system] = (f"{before} at start, {figures.get('chain_load')} after the chains, "
                         f"{figures.get('map_load')} after the map (1-min averages)")
        print(f"{system}: {json.dumps(figures)}", flush=True)
    print()
    print(server_report.table(results, loads, args.executions, args.items))
    for system, figures in results.items():
        ran = (figures.get("executions", args.executions), figures.get("map_items", args.items))
        if ran != (args.executions, args.items):
            print(f"note: {system}'s figures are of {ran[0]} chains and a map of {ran[1]:,}, not of the "
                  "sizes named above")
    if args.json:
        Path(args.json).write_text(json.dumps({"results": results, "loads": loads}, indent=2))


if __name__ == "__main__":
    main()
