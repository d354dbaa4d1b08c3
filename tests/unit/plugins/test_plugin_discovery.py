"""Plugin discovery: the test distributions under tests/plugins (installed for the test
session by conftest.py) are found through the entry-point group "wingspan"; the broken one
is reported by name with its error and the others still load; a plugin serves a task type."""

from __future__ import annotations

import json
import subprocess
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

from wingspan import task, workflow
from wingspan.core.config import Settings
from wingspan.core.errors import ConfigError
from wingspan.core.plugins import hookimpl, load_plugins, parse_targets
from wingspan.core.plugins.contract import TaskContext
from wingspan.core.plugins.registry import TaskPluginRegistry

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("WINGSPAN_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("WINGSPAN_TASK_TARGETS", raising=False)
    yield tmp_path / "home"


def test_installed_plugins_are_found_through_their_entry_points() -> None:
    found = load_plugins()
    loaded = {p.name: p for p in found.loaded}
    assert set(loaded) >= {"builtin", "echo"}
    echo = loaded["echo"]
    assert (echo.distribution, echo.version) == ("wingspan-echo", "0.3.1")
    assert echo.provides["task plugins"] == ("echo (echo)",)
    assert echo.provides["cli commands"] == ("echo-hello",)
    assert "local-process (python, dynamic, eager)" in loaded["builtin"].provides["task plugins"]
    assert "int" in loaded["builtin"].provides["type transformers"]


def test_a_broken_plugin_is_reported_by_name_and_the_rest_still_load() -> None:
    found = load_plugins()
    failures = {f.name: f for f in found.failed}
    assert "broken" in failures
    broken = failures["broken"]
    assert (broken.distribution, broken.version, broken.stage) == ("wingspan-broken", "0.0.1", "import")
    assert broken.error == "RuntimeError: wingspan-broken fails on import on purpose"
    assert "echo" in {p.name for p in found.loaded}
    assert found.registry().choose("echo") is not None


def _plugin(**hooks: object) -> types.SimpleNamespace:
    return types.SimpleNamespace(**hooks)


def test_bad_hooks_are_reported_per_plugin_with_the_hook_and_the_error() -> None:
    @hookimpl
    def wingspan_task_plugins() -> list[object]:
        raise ValueError("no targets today")

    @hookimpl
    def wingspan_task_plugin() -> list[object]:  # a typo: no such hook
        return []

    @hookimpl
    def wingspan_type_transformers(extra: int) -> list[object]:  # a wrong signature
        return []

    @hookimpl
    def wingspan_notifiers() -> list[object]:  # a list where a dict is due
        return []

    found = load_plugins(entry_points=False, extra=[
        ("raises", _plugin(wingspan_task_plugins=wingspan_task_plugins)),
        ("typo", _plugin(wingspan_task_plugin=wingspan_task_plugin)),
        ("signature", _plugin(wingspan_type_transformers=wingspan_type_transformers)),
        ("shape", _plugin(wingspan_notifiers=wingspan_notifiers)),
    ])
    failures = {f.name: f for f in found.failed}
    assert failures["raises"].stage == "wingspan_task_plugins"
    assert failures["raises"].error == "ValueError: no targets today"
    assert failures["typo"].stage == "register" and "wingspan_task_plugin'" in failures["typo"].error
    assert failures["signature"].stage == "register" and "extra" in failures["signature"].error
    assert failures["shape"].stage == "wingspan_notifiers" and "dict" in failures["shape"].error
    assert [p.name for p in found.loaded] == ["builtin"]
    # a failed plugin leaves nothing behind
    assert {p.name for p in found.task_plugins} == {"in-process", "local-process"}


def test_configuration_chooses_the_target_of_a_task_type() -> None:
    found = load_plugins(entry_points=False)
    assert found.registry().choose("python").name == "in-process"  # type: ignore[union-attr]
    assert found.registry("local-process").choose("python").name == "local-process"  # type: ignore[union-attr]
    assert found.registry({"python": "local-process"}).choose("python").name == "local-process"  # type: ignore[union-attr]
    assert found.registry().choose("spark") is None
    with pytest.raises(ConfigError, match="no plugin named 'pods' serves task type 'python'; "
                                          "the plugins that do: in-process, local-process"):
        found.registry("python=pods")
    assert parse_targets(" python=local-process, spark = k8s ") == {"python": "local-process", "spark": "k8s"}
    with pytest.raises(ConfigError, match="TASK_TYPE=TARGET"):
        parse_targets("python=")
    assert Settings.load(env={"WINGSPAN_TASK_TARGETS": "local-process"}).task_targets == "local-process"


def test_the_registry_prefers_a_plugin_over_a_builtin_for_the_same_type() -> None:
    found = load_plugins(entry_points=False)
    first, second = found.task_plugins
    registry = TaskPluginRegistry([first, second], {})
    assert registry.serving("python") == [first, second]
    assert registry.choose("python") is first  # python's default target: in-process


def test_a_plugin_serves_its_task_type_in_a_local_run() -> None:
    from wingspan_echo import Echo
    from wingspan_echo.plugin import EchoTarget

    @task(task_config=Echo(prefix="> ", delay=0.05))
    def echo(text: str) -> str:
        raise AssertionError("the plugin runs an echo task, not this body")

    @workflow
    def shout(text: str) -> str:
        return echo(text=echo(text=text))

    before = EchoTarget.polls
    assert shout(text="hi") == "> > hi"
    assert EchoTarget.polls - before >= 2  # it was polled, not run in-process


async def test_a_handle_is_plain_data_another_instance_can_poll() -> None:
    from wingspan_echo.plugin import EchoTarget

    from wingspan.core.model.execution import TaskPhase
    from wingspan.core.model.literals import Literal, LiteralMap
    from wingspan.core.model.tasks import TaskTemplate

    ctx = TaskContext(TaskTemplate(type="echo"), LiteralMap({"text": Literal("string", "x")}), "e", "n0", 0)
    handle = await EchoTarget().start(ctx)
    resumed = json.loads(json.dumps(handle))
    status = await EchoTarget().watch(ctx, resumed)
    assert status.phase == TaskPhase.SUCCEEDED and status.outputs is not None
    assert status.outputs.literals["o0"] == Literal("string", "x")


def wingspan(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "wingspan.cli", *args], cwd=ROOT, text=True,
                          capture_output=True, timeout=120)


def test_plugins_list_shows_each_plugin_its_version_and_what_it_provides() -> None:
    done = wingspan("plugins", "list")
    assert done.returncode == 0, done.stderr
    rows = {line.split()[0]: line for line in done.stdout.splitlines() if line.strip()}
    assert rows["echo"].split()[1:3] == ["wingspan-echo", "0.3.1"]
    assert "task plugins: echo (echo); notifiers: echo; cli commands: echo-hello" in rows["echo"]
    assert "local-process (python, dynamic, eager)" in rows["builtin"]
    assert ("broken (wingspan-broken 0.0.1), at import: RuntimeError: wingspan-broken fails on import "
            "on purpose") in done.stderr
    data = json.loads(wingspan("plugins", "list", "-o", "json").stdout)
    assert {p["name"] for p in data["loaded"]} >= {"builtin", "echo"}
    assert [f["name"] for f in data["failed"]] == ["broken"]


def test_a_plugin_adds_a_cli_command() -> None:
    done = wingspan("echo-hello")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "hello from wingspan-echo"


class Celsius:
    def __init__(self, degrees: float) -> None:
        self.degrees = degrees


def test_a_plugins_type_transformer_serves_its_type_once_installed() -> None:
    from typing import Any

    from wingspan.core.model.literals import Literal, LiteralType, SimpleType
    from wingspan.core.types import TypeTransformer, default_engine

    class CelsiusTransformer(TypeTransformer):
        name = "celsius"

        def handles(self, py_type: Any) -> bool:
            return py_type is Celsius

        def literal_type(self, py_type: Any, engine: Any) -> LiteralType:
            return LiteralType("simple", SimpleType.FLOAT)

        def fits(self, value: Any, py_type: Any, engine: Any, *, exact: bool) -> bool:
            return isinstance(value, Celsius)

        async def to_literal(self, value: Any, py_type: Any, engine: Any, ctx: Any) -> Literal:
            return Literal("float", value.degrees)

        async def to_python(self, literal: Literal, py_type: Any, engine: Any, ctx: Any) -> Any:
            return Celsius(literal.value)

    @hookimpl
    def wingspan_type_transformers() -> list[TypeTransformer]:
        return [CelsiusTransformer()]

    found = load_plugins(entry_points=False, extra=[("celsius", _plugin(
        wingspan_type_transformers=wingspan_type_transformers))])
    assert dict((p.name, p.provides["type transformers"]) for p in found.loaded)["celsius"] == ("celsius",)
    assert found.install_transformers() == 1
    assert found.install_transformers() == 0  # once
    assert default_engine().literal_type(Celsius) == LiteralType("simple", SimpleType.FLOAT)
