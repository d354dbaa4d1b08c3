"""The precedence of execution settings (task > execution > launch plan > project-domain >
project > deployment) at every level, and how the resolved settings reach each task."""

from __future__ import annotations

import pytest

from wingspan.core.errors import InvalidArgumentError
from wingspan.core.model.settings import (
    LEVELS,
    ExecutionSettings,
    Toggle,
    apply_to_tasks,
    items,
    resolve,
    with_items,
)
from wingspan.core.model.tasks import Container, Resources, ResourceSet, TaskMetadata, TaskTemplate
from wingspan.core.model.workflows import CompiledTask, CompiledWorkflowClosure


@pytest.mark.parametrize("winner", range(len(LEVELS)))
def test_the_most_specific_level_that_sets_a_value_wins(winner: int) -> None:
    # every level from ``winner`` down sets each value; the ones above set nothing
    levels = [(level, with_items(None, {"max_parallelism": 10 + i, "labels.level": level, "queue": f"q{i}:1",
                                        "max_resources.cpu": str(i + 1)}) if i >= winner else None)
              for i, level in enumerate(LEVELS)]
    resolved, sources = resolve(levels)
    assert items(resolved) == {"labels.level": LEVELS[winner], "max_parallelism": str(10 + winner),
                               "max_resources.cpu": str(winner + 1), "queue": f"q{winner}:1"}
    assert {s.name: s.level for s in sources} == dict.fromkeys(
        ["labels.level", "max_parallelism", "max_resources.cpu", "queue"], LEVELS[winner])


def test_labels_merge_key_by_key_and_unset_values_fall_through() -> None:
    resolved, sources = resolve([
        ("execution", with_items(None, {"labels.a": "execution"})),
        ("launch plan", None),
        ("project-domain", with_items(None, {"interruptible": False})),
        ("project", with_items(None, {"labels.b": "project", "interruptible": True})),
        ("deployment", with_items(None, {"labels.a": "deployment", "labels.c": "deployment"})),
    ])
    assert items(resolved) == {"interruptible": "no", "labels.a": "execution", "labels.b": "project",
                               "labels.c": "deployment"}
    assert {s.name: s.level for s in sources} == {"interruptible": "project-domain", "labels.a": "execution",
                                                  "labels.b": "project", "labels.c": "deployment"}


def _closure(template: TaskTemplate) -> CompiledWorkflowClosure:
    return CompiledWorkflowClosure(tasks=(CompiledTask(template=template),))


def test_a_task_keeps_what_it_sets_gets_the_defaults_and_is_capped() -> None:
    own = TaskTemplate(type="python", metadata=TaskMetadata(),
                       container=Container(resources=Resources(requests=ResourceSet(cpu="1"),
                                                               limits=ResourceSet(memory="64Gi"))))
    settings = with_items(None, {"default_resources.requests.cpu": "250m",
                                 "default_resources.requests.memory": "512Mi",
                                 "max_resources.memory": "8Gi", "interruptible": True})
    task = apply_to_tasks(_closure(own), settings).tasks[0].template
    assert task is not None and task.container is not None and task.metadata is not None
    assert task.container.resources == Resources(requests=ResourceSet(cpu="1", memory="512Mi"),
                                                 limits=ResourceSet(memory="8Gi"))
    assert task.metadata.interruptible
    # a task that is interruptible itself stays so when the settings say no
    keeps = TaskTemplate(type="python", metadata=TaskMetadata(interruptible=True))
    off = apply_to_tasks(_closure(keeps), ExecutionSettings(interruptible=Toggle.OFF)).tasks[0].template
    assert off is not None and off.metadata is not None and off.metadata.interruptible


def test_every_bad_name_and_value_is_reported() -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        with_items(None, {"colour": "red", "max_parallelism": "x"})
    assert "unknown setting 'colour'" in str(caught.value)
    assert "max_parallelism 'x' is not a whole number" in str(caught.value)
