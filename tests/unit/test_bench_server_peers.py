"""bench/server_peers.py's reading of each system's output, its ratios and its table; and the
peers' harnesses' process CPU accounting (the heavy runs themselves stay benchmarks)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from bench.peers import server_common
from bench.peers.server_report import parse_peer, parse_wingspan, ratio, table

# as bench/server_bench.py and bench/server_map_bench.py print them
SERVER_OUTPUT = """database SQLite, 1 engine replica(s)
create -> first task running: median 212 ms, p90 340 ms (10 samples)
40 executions x 10 tasks in 31.4 s: 1,529 task executions/min, 61 node transitions/s; \
server CPU 21.5 ms per task execution; load average 3.10, 2.80, 2.00
"""
MAP_OUTPUT = """Python 3.11.2, a map of 10000 items through wingspan serve (SQLite), concurrency not given
wall: 95.2 s create to end (9520 µs per item)
server CPU: 60.1 s (6010 µs per item)
server memory: 90.0 MiB before, peak 180.0 MiB (9.22 KiB per item above the start)
load average: 2.50
"""


def test_wingspan_figures_are_read_from_the_bench_scripts_output() -> None:
    figures = parse_wingspan(SERVER_OUTPUT, MAP_OUTPUT)
    assert figures == {"tasks_per_minute": 1529.0, "latency_median_ms": 212.0, "latency_p90_ms": 340.0,
                       "chain_cpu_ms_per_task": 21.5, "map_seconds": 95.2, "map_cpu_ms_per_item": 6.01}


def test_a_missing_wingspan_figure_names_it_and_shows_the_output() -> None:
    with pytest.raises(ValueError, match=r"(?s)lacks map_seconds, map_cpu_ms_per_item.*Traceback"):
        parse_wingspan(SERVER_OUTPUT, "Traceback (most recent call last): ...")


def test_a_peer_figures_are_its_last_json_line() -> None:
    output = 'Deployment applied\n{"not": "this"}\n{"system": "prefect", "map_seconds": 12.5}\n\n'
    assert parse_peer("prefect", output) == {"system": "prefect", "map_seconds": 12.5}
    with pytest.raises(ValueError, match=r"(?s)dagster's harness printed no JSON line last.*Killed"):
        parse_peer("dagster", "starting\nKilled")
    with pytest.raises(ValueError, match="not a JSON object"):
        parse_peer("dagster", "[1, 2]")


def test_ratio_is_ours_over_theirs_and_none_without_both() -> None:
    assert ratio(30, 120) == 0.25
    assert ratio(None, 2.0) is None and ratio(1.0, None) is None and ratio(1.0, 0) is None


def test_the_table_gives_each_figure_with_ratios_a_time_out_and_the_loads() -> None:
    ours = dict(parse_wingspan(SERVER_OUTPUT, MAP_OUTPUT))
    prefect = {"tasks_per_minute": 382.3, "latency_median_ms": 4240.0, "latency_p90_ms": 5100.0,
               "chain_cpu_ms_per_task": 43.0, "map_seconds": 190.4, "map_cpu_ms_per_item": 12.02}
    dagster = {"tasks_per_minute": 152.9, "latency_median_ms": 2120.0, "latency_p90_ms": None,
               "chain_cpu_ms_per_task": 21.5, "map_seconds": 900.3, "map_timed_out": True,
               "map_cpu_ms_per_item": None}
    text = table({"wingspan": ours, "prefect": prefect, "dagster": dagster},
                 {"wingspan": "2.1", "prefect": "3.5", "dagster": "4.0"})
    lines = text.splitlines()
    assert lines[0].split() == ["figure", "unit", "wingspan", "prefect", "dagster", "wingspan/prefect",
                                "wingspan/dagster"]
    throughput = next(line for line in lines if line.startswith("40 x 10-task chains"))
    assert throughput.split()[-5:] == ["1,529", "382", "153", "4", "10"]
    latency = next(line for line in lines if "p90" in line)
    assert latency.split()[-5:] == ["340", "5,100", "n/a", "0.0667", "n/a"]
    mapped = next(line for line in lines if line.startswith("map of 10,000"))
    assert mapped.split()[-6:] == ["95.2", "190", ">900", "(timeout)", "0.5", "<=0.106"]
    per_item = next(line for line in lines if line.startswith("server CPU per map item"))
    assert per_item.split()[-5:] == ["6.01", "12", "n/a", "0.5", "n/a"]
    assert "load average during prefect: 3.5" in lines and "load average during dagster: 4.0" in lines


def test_cpu_accounting_counts_a_process_tree_and_leaves_out_what_is_excluded() -> None:
    busy = "import time\nend = time.process_time() + 0.3\nwhile time.process_time() < end: pass\n" \
           "print('done', flush=True)\ninput()"
    parent = subprocess.Popen(
        [sys.executable, "-c", "import subprocess, sys\n"
         # the marker is joined here so that only the child's command line holds it
         f"child = subprocess.Popen([sys.executable, '-c', {busy!r}, 'the-' + 'child'])\nchild.wait()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert parent.stdout is not None
        assert parent.stdout.readline() == "done\n"  # the child has used its CPU
        tree = server_common.cpu_by_pid([parent.pid])
        assert len(tree) == 2 and server_common.cpu_used({}, tree) >= 0.3
        assert set(server_common.cpu_by_pid([parent.pid], exclude=lambda c: "the-child" in c)) == {parent.pid}
        assert server_common.cpu_used(tree, tree) == 0
    finally:
        os.killpg(parent.pid, signal.SIGKILL)  # the child too: it is in the parent's session
        parent.communicate(timeout=10)


def test_latency_figures_match_server_bench() -> None:
    # server_bench.py: the median, and sorted(samples)[int(len(samples) * 0.9) - 1] as the p90
    figures = server_common.latency_figures([0.5, 0.1, 0.3, 0.2, 0.4, 0.6, 0.7, 0.8, 0.9, 1.0])
    assert figures == {"latency_median_ms": pytest.approx(550), "latency_p90_ms": pytest.approx(900)}
    assert json.loads(json.dumps(figures)) == figures


def test_the_table_names_the_workload_it_ran() -> None:
    ours = dict(parse_wingspan(SERVER_OUTPUT, MAP_OUTPUT))
    text = table({"wingspan": ours, "prefect": ours}, {}, executions=4, items=200)
    assert "4 x 10-task chains: task executions per minute" in text
    assert "map of 200: wall time create -> end" in text


def test_stop_ends_the_whole_group_even_a_member_that_ignores_sigterm(tmp_path: Path) -> None:
    # as a Dagster run outlives the code server that spawned it, then writes into a removed home
    stubborn = "import os, signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n" \
               "print(os.getpid(), flush=True)\ntime.sleep(120)"
    log = tmp_path / "group.log"
    spawn = f"import subprocess, sys, time\nsubprocess.Popen([sys.executable, '-c', {stubborn!r}])\n" \
            "time.sleep(120)"
    leader = server_common.start([sys.executable, "-c", spawn], dict(os.environ), log)
    child = server_common.wait_for("the child's pid", lambda: int(log.read_text() or 0) or None, 30)
    server_common.stop([leader], grace=1)
    assert leader.returncode is not None
    with pytest.raises(ProcessLookupError):
        os.kill(child, 0)
