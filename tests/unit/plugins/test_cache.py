"""The task cache: hits skip the task (a cache-hit event), edited code misses, a pinned
version hits across edits, ignored inputs do not count, and with cache_serialize one of
several concurrent runs computes a key while the others wait for it."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from wingspan import task, workflow
from wingspan._registration.discovery import load_entities
from wingspan._runner.run import outputs_of, run_workflow_entity
from wingspan.cli import cli
from wingspan.core.catalog.interface import CacheKey
from wingspan.core.catalog.sqlite import SqliteCatalog
from wingspan.core.engine import MemorySink
from wingspan.core.engine.events import Event
from wingspan.core.model.execution import CacheStatus, NodePhase


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("WINGSPAN_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("WINGSPAN_TASK_TARGETS", raising=False)
    yield tmp_path / "home"


def cache_events(events: list[Event], node: str = "n0") -> list[tuple[str, CacheStatus]]:
    return [(e.phase.name, e.cache) for e in events if e.kind == "node" and e.node_id == node
            and e.cache != CacheStatus.DISABLED]


def test_a_hit_skips_the_task_and_is_recorded_as_a_cache_hit() -> None:
    calls: list[int] = []

    @task(cache=True)
    def slow_square(x: int) -> int:
        calls.append(x)
        return x * x

    @workflow
    def wf(x: int) -> int:
        return slow_square(x=x)

    first = run_workflow_entity(wf, {"x": 3})
    second = run_workflow_entity(wf, {"x": 3})
    other = run_workflow_entity(wf, {"x": 4})
    assert [outputs_of(wf, r) for r in (first, second, other)] == [9, 9, 16]
    assert calls == [3, 4]
    assert cache_events(first.events) == [("SUCCEEDED", CacheStatus.POPULATED)]
    assert cache_events(second.events) == [("SUCCEEDED", CacheStatus.HIT)]
    assert not [e for e in second.events if e.kind == "task"]  # no attempt at all


def test_ignored_inputs_do_not_count_in_the_key() -> None:
    calls: list[str] = []

    @task(cache=True, cache_ignore_inputs=["note"])
    def total(values: list[int], note: str) -> int:
        calls.append(note)
        return sum(values)

    assert total(values=[1, 2], note="first") == 3
    assert total(values=[1, 2], note="second") == 3
    assert total(values=[1, 2, 3], note="third") == 6
    assert calls == ["first", "third"]


MODULE = '''
from wingspan import task

CALLS = []


def helper(x: int) -> int:
    return x + {step}


@task(cache=True{pin})
def bump(x: int) -> int:
    CALLS.append(x)
    return helper(x)
'''


def load_version(folder: Path, step: int, pin: str = "") -> Any:
    """Loads module ``cachedmod`` from ``folder``, written with ``helper`` adding ``step``."""
    folder.mkdir()
    pinned = f", cache_version={pin!r}" if pin else ""
    (folder / "cachedmod.py").write_text(MODULE.format(step=step, pin=pinned))
    sys.modules.pop("cachedmod", None)
    entities = load_entities(folder / "cachedmod.py")
    return entities["cachedmod.bump"], sys.modules["cachedmod"]


@pytest.fixture
def clean_modules() -> Iterator[None]:
    path = list(sys.path)
    yield
    sys.path[:] = path
    sys.modules.pop("cachedmod", None)


@pytest.mark.usefixtures("clean_modules")
def test_an_edit_of_the_code_the_task_calls_misses(tmp_path: Path) -> None:
    bump, module = load_version(tmp_path / "v1", step=1)
    assert bump(x=1) == 2 and bump(x=1) == 2
    assert module.CALLS == [1]
    edited, module = load_version(tmp_path / "v2", step=10)  # only the helper changed
    assert edited.name == bump.name
    assert edited.template.metadata.cache.version != bump.template.metadata.cache.version
    assert edited(x=1) == 11
    assert module.CALLS == [1]
    same, module = load_version(tmp_path / "v3", step=10)  # unchanged code: the same version
    assert same.template.metadata.cache.version == edited.template.metadata.cache.version
    assert same(x=1) == 11 and module.CALLS == []


@pytest.mark.usefixtures("clean_modules")
def test_an_explicit_cache_version_pins_the_entry_across_edits(tmp_path: Path) -> None:
    bump, module = load_version(tmp_path / "v1", step=1, pin="1")
    assert bump(x=5) == 6 and module.CALLS == [5]
    edited, module = load_version(tmp_path / "v2", step=10, pin="1")
    assert edited.template.metadata.cache.version == "1"
    assert edited(x=5) == 6  # the pinned entry, as asked
    assert module.CALLS == []


def test_cache_serialize_lets_one_of_several_concurrent_runs_compute_a_key() -> None:
    calls: list[int] = []
    someone_waits = threading.Event()

    @task(cache=True, cache_serialize=True)
    def expensive(x: int) -> int:
        calls.append(x)
        assert someone_waits.wait(30), "no other run waited for the reservation"
        return x * 100

    @workflow
    def wf(x: int) -> int:
        return expensive(x=x)

    def listen(event: Event) -> None:
        if event.kind == "node" and event.phase == NodePhase.WAITING:
            someone_waits.set()

    results: list[Any] = [None] * 3

    def run(index: int) -> None:
        results[index] = run_workflow_entity(wf, {"x": 7}, sink=MemorySink(listen))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert calls == [7]
    assert [outputs_of(wf, r) for r in results] == [700, 700, 700]
    finals = sorted(cache_events(r.events)[-1][1].name for r in results)
    assert finals == ["HIT", "HIT", "POPULATED"]
    waited = [r for r in results if ("WAITING", CacheStatus.MISS) in cache_events(r.events)]
    assert waited


async def test_a_reservation_expires_and_is_given_up(tmp_path: Path) -> None:
    catalog = SqliteCatalog(tmp_path / "catalog.sqlite")
    key = CacheKey("t", "v", "d")
    assert (await catalog.reserve(key, "a", 30)).acquired
    taken = await catalog.reserve(key, "b", 30)
    assert not taken.acquired and taken.owner == "a"
    assert (await catalog.reserve(key, "a", -1)).acquired  # the holder extends (here: lets it lapse)
    assert (await catalog.reserve(key, "b", 30)).acquired  # an expired reservation is taken over
    await catalog.release(key, "a")  # not a's any more: nothing happens
    assert not (await catalog.reserve(key, "c", 30)).acquired
    await catalog.release(key, "b")
    assert (await catalog.reserve(key, "c", 30)).acquired
    await catalog.aclose()


def test_cache_clear_empties_the_local_catalog(home: Path) -> None:
    calls: list[int] = []

    @task(cache=True)
    def one(x: int) -> int:
        calls.append(x)
        return x

    assert one(x=1) == 1 and one(x=2) == 2
    assert (home / "cache" / "catalog.sqlite").is_file()
    done = CliRunner().invoke(cli, ["cache", "clear"])
    assert done.exit_code == 0, done.output
    assert "removed 2 cached outputs" in done.output
    assert one(x=1) == 1
    assert calls == [1, 2, 1]
