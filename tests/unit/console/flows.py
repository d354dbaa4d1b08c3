"""What the console's tests register: a workflow with a gate, a scheduled launch plan, typed inputs."""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from wingspan import (
    CronSchedule,
    Deck,
    Directory,
    File,
    LaunchPlan,
    approve,
    dynamic,
    map_task,
    task,
    wait_for_input,
    workflow,
)


class Colour(enum.Enum):
    RED = "red"
    GREEN = "green"


@task
def add(a: int, b: int) -> int:
    return a + b


@task
def paint(colour: Colour, times: int, tags: list[str], loud: bool = False) -> str:
    text = ",".join(tags) * times + colour.value
    return text.upper() if loud else text


@task
def reported(x: int) -> int:
    print(f"reporting on {x}", flush=True)
    # the report's script tries to reach the console's origin: the sandbox must stop it
    script = ("try { parent.document.body.dataset.reached = 'yes'; } "
              "catch (e) { document.body.dataset.blocked = 'yes'; }")
    Deck("summary", f"<p id='summary'>x is {x}</p><script>{script}</script>")
    return x * 2


@workflow
def reporting(x: int, items: list[int]) -> list[int]:
    reported(x=x)
    doubled: list[int] = map_task(reported)(x=items)
    return doubled


@dataclass
class Point:
    x: int
    y: float
    label: str = "origin"


@dataclass
class Shape:
    name: str
    corner: Point


@task
def describe(shape: Shape, scale: int = 1) -> str:
    return f"{shape.name} at ({shape.corner.x * scale}, {shape.corner.y * scale}) {shape.corner.label}"


@task
def measure(data: File) -> str:
    with data.open("rb") as handle:
        content = handle.read()
    return f"{len(content)} bytes: {content.decode()}"


@task
def inventory(folder: Directory) -> str:
    """Each file of an uploaded folder, by its path inside it, with its content."""
    root = Path(folder.download())
    found = sorted(p for p in root.rglob("*") if p.is_file())
    return "; ".join(f"{p.relative_to(root).as_posix()}={p.read_text()}" for p in found)


@dataclass
class Labelled:
    name: str
    data: File


@task
def weigh(item: Labelled) -> str:
    with item.data.open("rb") as handle:
        return f"{item.name}: {len(handle.read())} bytes"


@task
def double(x: int) -> int:
    return 2 * x


@task(retries=1)
def flaky(marker: str) -> int:
    """Fails its first attempt (leaving ``marker`` behind), so its retry succeeds."""
    if not Path(marker).exists():
        Path(marker).write_text("failed once")
        raise ConnectionError("the first attempt fails")
    return 1


@task
def talks(marker: str) -> int:
    """Writes a line, waits (at most a minute) until ``marker`` exists, then writes another."""
    print("first line", flush=True)
    deadline = time.monotonic() + 60
    while not Path(marker).exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{marker} never appeared")
        time.sleep(0.05)
    print("second line", flush=True)
    return 0


@workflow
def talking(marker: str) -> int:
    said: int = talks(marker=marker)
    return said


@workflow
def retried(marker: str, items: list[int]) -> list[int]:
    flaky(marker=marker)
    doubled: list[int] = map_task(double)(x=items)
    return doubled


@task
def held(marker: str) -> int:
    """Waits (at most a minute) until ``marker`` exists: a map item the test lets finish."""
    deadline = time.monotonic() + 60
    while not Path(marker).exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{marker} never appeared")
        time.sleep(0.05)
    return len(marker)


@workflow
def held_map(markers: list[str]) -> list[int]:
    lengths: list[int] = map_task(held)(marker=markers)
    return lengths


@dynamic
def doubles(n: int) -> list[int]:
    return [double(x=i) for i in range(n)]


@workflow
def fanned(n: int) -> list[int]:
    found: list[int] = doubles(n=n)
    return found


@workflow
def inner_chain(x: int) -> int:
    total: int = add(a=double(x=x), b=1)
    return total


@workflow
def nested(x: int) -> int:
    total: int = inner_chain(x=add(a=x, b=1))
    return total


@workflow
def chain(x: int, y: int = 3) -> int:
    total: int = add(a=add(a=x, b=y), b=add(a=x, b=1))
    return total


@workflow
def reviewed(x: int) -> int:
    checked = approve(add(a=x, b=1), "review", timeout=timedelta(hours=1))
    total: int = add(a=checked, b=100)
    return total


@workflow
def asks(x: int) -> int:
    factor = wait_for_input("factor", timeout=timedelta(hours=1), expected_type=int)
    total: int = add(a=x, b=factor)
    return total


chain_plan = LaunchPlan.get_or_create(chain, name="chain_plan", default_inputs={"y": 10})
nightly = LaunchPlan.get_or_create(chain, name="nightly", default_inputs={"x": 1},
                                   schedule=CronSchedule("0 3 * * *"))
