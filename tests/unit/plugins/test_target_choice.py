"""Where a task runs: the task's own target, else its project's choice
(``python@project=...``), else its type's (``python=...``)."""

from __future__ import annotations

from typing import ClassVar

import pytest

from wingspan import task
from wingspan.core.errors import ConfigError
from wingspan.core.model.interface import Identifier, ResourceType
from wingspan.core.model.tasks import TaskMetadata, TaskTemplate
from wingspan.core.plugins.contract import Handle, TaskContext, TaskPlugin, TaskStatus
from wingspan.core.plugins.executor import PluginExecutor
from wingspan.core.plugins.inprocess_target import InProcessTarget
from wingspan.core.plugins.localproc.target import LocalProcessTarget
from wingspan.core.plugins.registry import TaskPluginRegistry, parse_targets


class _Named(TaskPlugin):
    task_types: ClassVar[tuple[str, ...]] = ("python",)

    async def start(self, ctx: TaskContext) -> Handle:
        raise NotImplementedError

    async def poll(self, ctx: TaskContext, handle: Handle) -> TaskStatus:
        raise NotImplementedError

    async def abort(self, ctx: TaskContext, handle: Handle) -> None:
        raise NotImplementedError


class Pods(_Named):
    name: ClassVar[str] = "pods"


class Local(_Named):
    name: ClassVar[str] = "local"


def template(project: str, target: str = "") -> TaskTemplate:
    return TaskTemplate(id=Identifier(ResourceType.TASK, project, "development", "t", "v1"), type="python",
                        metadata=TaskMetadata(target=target))


def executor(targets: str) -> PluginExecutor:
    return PluginExecutor(TaskPluginRegistry([InProcessTarget(), Local(), Pods()], parse_targets(targets)))


def test_a_projects_choice_wins_over_the_types() -> None:
    chosen = executor("python=local, python@ml=pods")
    assert isinstance(chosen.plugin_for_template(template("ml")), Pods)
    assert isinstance(chosen.plugin_for_template(template("web")), Local)


def test_a_tasks_target_wins_over_its_project() -> None:
    chosen = executor("python=local, python@ml=pods")
    assert isinstance(chosen.plugin_for_template(template("ml", target="local")), Local)
    assert chosen.plugin_for_template(template("web", target="in-process")) is None  # runs here


def test_an_unknown_choice_is_refused_naming_what_serves_the_type() -> None:
    with pytest.raises(ConfigError, match=r"no plugin named 'nope' serves task type 'python'.*pods"):
        executor("python@ml=nope")
    with pytest.raises(ConfigError, match="target: no plugin named 'gone'"):
        executor("python=local").plugin_for_template(template("ml", target="gone"))


def test_the_sdk_records_a_tasks_target_and_checks_its_type() -> None:
    @task(target="pods")
    def placed(x: int) -> int:
        return x

    assert placed.template.metadata is not None and placed.template.metadata.target == "pods"
    with pytest.raises(Exception, match="target must be the name of a task plugin"):
        @task(target=3)
        def misplaced(x: int) -> int:
            return x


def test_a_maps_items_go_in_chunks_only_to_a_target_that_runs_them() -> None:
    @task
    def item(x: int) -> int:
        return x

    runner = item.task_runner()
    assert not executor("python=pods").runs_chunks(runner)  # an attempt per item, as before
    assert not executor("python=in-process").runs_chunks(runner)  # called directly by the engine
    local = TaskPluginRegistry([LocalProcessTarget()], parse_targets("python=local-process"))
    assert PluginExecutor(local).runs_chunks(runner)
