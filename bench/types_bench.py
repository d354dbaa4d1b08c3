"""How fast ``import wingspan`` is, and what converting a value costs.

Run by hand (not a test; timings depend on the machine)::

    python bench/types_bench.py            # import time + conversion costs
    python bench/types_bench.py --runs 21  # more import runs for a steadier median

(a) import time: the median wall time of ``python -c "import wingspan"`` in fresh
processes minus that of ``python -c pass`` (the interpreter's own start), and the
cumulative time ``-X importtime`` attributes to ``wingspan`` (goal: under 0.3 s).

(b) conversion costs per call, for an int, a 1,000-element list[int] and a nested
dataclass: value -> literal (``to_literal``), literal -> value (``to_python``), and
literal -> IDL bytes -> literal (``codec.encode`` / ``codec.decode``).
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

IMPORT_GOAL_S = 0.3


# ---- (a) import time ----------------------------------------------------------------------------


def _wall(code: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return time.perf_counter() - start


def _importtime_us() -> int:
    """Cumulative microseconds -X importtime gives the top-level ``wingspan`` import."""
    result = subprocess.run([sys.executable, "-X", "importtime", "-c", "import wingspan"],
                            check=True, capture_output=True, text=True)
    for line in result.stderr.splitlines():
        parts = [p.strip() for p in line.removeprefix("import time:").split("|")]
        if len(parts) == 3 and parts[2] == "wingspan":
            return int(parts[1])
    raise RuntimeError("no 'wingspan' line in -X importtime output")


def import_times(runs: int) -> dict[str, float]:
    _wall("import wingspan")  # warm the file cache and the .pyc files
    bare = [_wall("pass") for _ in range(runs)]
    full = [_wall("import wingspan") for _ in range(runs)]
    cumulative = [_importtime_us() / 1e6 for _ in range(runs)]
    return {
        "python -c pass": statistics.median(bare),
        "python -c 'import wingspan'": statistics.median(full),
        "import wingspan (difference)": statistics.median(full) - statistics.median(bare),
        "import wingspan (-X importtime)": statistics.median(cumulative),
    }


# ---- (b) conversion costs -----------------------------------------------------------------------


@dataclasses.dataclass
class Inner:
    x: int
    y: float = 1.5
    tags: list[str] = dataclasses.field(default_factory=lambda: ["a", "b"])


@dataclasses.dataclass
class Outer:
    name: str
    inner: Inner
    items: list[Inner]
    scores: dict[str, float]
    note: str | None = None


def samples() -> list[tuple[str, Any, Any]]:
    nested = Outer("run", Inner(1), [Inner(i, i / 2) for i in range(5)], {"a": 0.5, "b": 2.0})
    return [("int", 42, int), ("list[int] x1000", list(range(1000)), list[int]),
            ("nested dataclass", nested, Outer)]


def _per_call(func: Callable[[], Any], budget_s: float) -> float:
    """Seconds per call: the best of 5 batches, each sized to take about budget_s / 5."""
    func()
    count, start = 1, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < budget_s / 50:
        func()
        count += 1
    batch = max(1, int(count * (budget_s / 5) / max(elapsed, 1e-9)))
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(batch):
            func()
        best = min(best, (time.perf_counter() - start) / batch)
    return best


async def _per_call_async(func: Callable[[], Awaitable[Any]], budget_s: float) -> float:
    await func()
    count, start = 1, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < budget_s / 50:
        await func()
        count += 1
    batch = max(1, int(count * (budget_s / 5) / max(elapsed, 1e-9)))
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(batch):
            await func()
        best = min(best, (time.perf_counter() - start) / batch)
    return best


async def conversion_costs(budget_s: float) -> list[tuple[str, dict[str, float]]]:
    from wingspan.core.model import codec
    from wingspan.core.model.literals import Literal
    from wingspan.core.types import default_engine

    engine = default_engine()
    rows = []
    for label, value, py_type in samples():
        literal = await engine.to_literal(value, py_type)
        data = codec.encode(literal)
        assert await engine.to_python(codec.decode(Literal, data), py_type) == value
        rows.append((label, {
            "to_literal": await _per_call_async(lambda v=value, t=py_type: engine.to_literal(v, t), budget_s),
            "to_python": await _per_call_async(lambda lit=literal, t=py_type: engine.to_python(lit, t),
                                               budget_s),
            "encode": _per_call(lambda lit=literal: codec.encode(lit), budget_s),
            "decode": _per_call(lambda d=data: codec.decode(Literal, d), budget_s),
            "bytes": float(len(data)),
        }))
    return rows


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:10.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=11, help="fresh processes per import timing")
    parser.add_argument("--budget", type=float, default=1.0, help="seconds spent timing each operation")
    args = parser.parse_args()

    print(f"python {sys.version.split()[0]} at {sys.executable}")
    print(f"\nimport time (median of {args.runs} fresh processes)")
    for label, seconds in import_times(args.runs).items():
        print(f"  {label:34} {seconds * 1000:8.1f} ms")
    print(f"  goal: under {IMPORT_GOAL_S * 1000:.0f} ms for import wingspan")

    import anyio

    rows = anyio.run(conversion_costs, args.budget)
    print("\nconversion cost per call (µs; best of 5 batches)")
    head = f"  {'value':18}" + "".join(f"{c:>11}" for c in ("to_literal", "to_python", "encode", "decode",
                                                           "round trip")) + f"{'bytes':>8}"
    print(head)
    for label, cost in rows:
        total = cost["to_literal"] + cost["encode"] + cost["decode"] + cost["to_python"]
        print(f"  {label:18}" + "".join(" " + _us(cost[c]) for c in ("to_literal", "to_python", "encode",
                                                                      "decode"))
              + " " + _us(total) + f"{int(cost['bytes']):>8}")


if __name__ == "__main__":
    main()
