"""A conditional inside another's arm, at any depth, defined and run locally (issue #22
item 3; tests/unit/remote/test_remote_sdk_values runs the same workflows on a server)."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from tests.unit.sdk.nested_branches import classify, refuse_small
from wingspan._runner.run import run_workflow_entity
from wingspan.core.engine import MemorySink
from wingspan.core.errors import ExecutionFailedError
from wingspan.core.model.workflows import Node


@pytest.mark.parametrize(("x", "expected"), [
    (1000, "huge:1000"), (200, "big:200"), (50, "medium:50"), (3, "small:3"),
    (-4, "negative:-4"), (0, "zero:0"),
])
def test_every_depth_picks_its_arm(x: int, expected: str) -> None:
    assert classify(x=x) == expected


def test_the_arms_not_taken_are_skipped_at_each_level() -> None:
    sink = MemorySink()
    result = run_workflow_entity(classify, {"x": 200}, sink=sink)
    assert result.outputs == {"o0": "big:200"}
    names = {node.metadata.name: node.id for node in _walk(classify.template.nodes) if node.metadata}
    assert sink.phases(names["sign"])[-1] == "SUCCEEDED"
    assert sink.phases(names["size"])[-1] == "SUCCEEDED"
    assert sink.phases(names["huge"])[-1] == "SUCCEEDED"
    assert sink.phases(names["zero"]) == ["SKIPPED"]


def test_an_inner_fail_arm_fails_the_run_with_its_message() -> None:
    assert refuse_small(x=9) == "ok:9"
    with pytest.raises(ExecutionFailedError, match="x must be above 5"):
        refuse_small(x=2)


def _walk(nodes: Iterable[Node | None]) -> list[Node]:
    found: list[Node] = []
    for node in nodes:
        if node is None:
            continue
        found.append(node)
        if node.kind == "branch_node":
            branch = node.value
            arms = [case.then_node for case in branch.cases]
            if branch.kind == "else_node":
                arms.append(branch.value)
            found.extend(_walk(arms))
    return found
