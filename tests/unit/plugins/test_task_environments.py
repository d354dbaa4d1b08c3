"""The core hook for plugin task bodies: a plugin's TaskEnvironment is entered around every
body of its task type wherever the body runs (a local-process worker, this process), gives
``current_context()`` its values, keeps warm state between attempts in the same process and
is left even when the body fails; a task outside its types gets an error that names the
plugin; ``wingspan plugins list`` shows it."""

from __future__ import annotations

import importlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from wingspan._authoring.workflow import single_node_workflow
from wingspan._runner.run import outputs_of, run_workflow_entity
from wingspan.core.model.execution import WorkflowPhase

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def tasks() -> Any:
    # imported once the test plugins are installed (a session fixture, after collection)
    return importlib.import_module("environment_tasks")


@pytest.fixture(autouse=True)
def trace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("WINGSPAN_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("WINGSPAN_TASK_TARGETS", raising=False)
    path = tmp_path / "trace.txt"
    monkeypatch.setenv("AMBIENT_TRACE", str(path))
    yield path


def run(entity: Any, target: str = "", **values: Any) -> tuple[Any, Any]:
    workflow = single_node_workflow(entity)
    return run_workflow_entity(workflow, values, target=target or None), workflow


def events(trace: Path) -> list[str]:
    return [line.split(" ", 1)[1] for line in trace.read_text().splitlines()] if trace.exists() else []


def test_a_worker_enters_the_environment_and_keeps_it_warm_between_attempts(tasks: Any, trace: Path) -> None:
    result, wf = run(tasks.ambient_a, x=1)
    first = outputs_of(wf, result)
    result, wf = run(tasks.ambient_a, x=2)
    second = outputs_of(wf, result)
    assert first["label"] == "a" and first["pid"] == second["pid"]  # the same warm worker
    assert (first["setups"], first["entries"]) == (1, 1)
    assert (second["setups"], second["entries"]) == (1, 2)  # set up once, entered twice
    assert events(trace) == ["setup", "enter a", "exit a", "enter a", "exit a"]


def test_attempts_with_other_settings_get_workers_of_their_own(tasks: Any, trace: Path) -> None:
    result, wf = run(tasks.ambient_a, x=1)
    a = outputs_of(wf, result)
    result, wf = run(tasks.ambient_b, x=1)
    b = outputs_of(wf, result)
    assert a["pid"] != b["pid"] and b["setups"] == 1 and b["label"] == "b"


def test_the_environment_is_left_when_the_body_fails_and_the_error_is_the_bodys(tasks: Any,
                                                                               trace: Path) -> None:
    result, _ = run(tasks.ambient_fails, x=7)
    assert result.phase == WorkflowPhase.FAILED
    assert "the body failed inside its environment (7)" in result.error.message
    assert events(trace)[-2:] == ["enter a", "exit a"]


def test_in_process_bodies_are_entered_too(tasks: Any, trace: Path) -> None:
    result, wf = run(tasks.ambient_a, target="ambient=ambient-in-process", x=1)
    seen = outputs_of(wf, result)
    assert seen["label"] == "a" and seen["entries"] >= 1
    assert events(trace)[-2:] == ["enter a", "exit a"]


def test_a_task_of_another_type_is_told_which_plugin_gives_the_value(tasks: Any) -> None:
    result, _ = run(tasks.plain_asks_for_ambient, x=1)
    assert result.phase == WorkflowPhase.FAILED
    message = result.error.message
    assert "current_context() has no attribute 'ambient'" in message
    assert "plugin 'ambient' to tasks of type 'ambient'" in message


def test_plugins_list_shows_the_environment_and_its_task_types() -> None:
    done = subprocess.run([sys.executable, "-m", "wingspan.cli", "plugins", "list"], cwd=ROOT, text=True,
                          capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr
    row = next(line for line in done.stdout.splitlines() if line.startswith("ambient "))
    assert "task environments: AmbientEnvironment (ambient)" in row


def test_plugins_discovered_twice_in_one_process_keep_one_warm_environment(tasks: Any) -> None:
    from wingspan.core.engine.task_environments import installed
    from wingspan.core.plugins import load_plugins

    load_plugins().install_environments()
    assert load_plugins().install_environments() == 0
    assert [type(e).__name__ for e in installed("ambient")] == ["AmbientEnvironment"]
