"""A ContainerTask runs its command locally: placeholders filled, outputs read back typed."""

from __future__ import annotations

import pytest

from wingspan import ContainerTask, task, workflow
from wingspan.core.errors import ExecutionFailedError

word_count = ContainerTask(
    "word_count", image="busybox", inputs={"text": str, "factor": int},
    outputs={"words": int},
    command=["sh", "-c", "n=$(echo '{{.inputs.text}}' | wc -w); echo $((n * {{.inputs.factor}})) "
                         "> {{.outputDir}}/words"],
)

echo_lines = ContainerTask(
    "echo_lines", image="busybox", inputs={"items": list[str]}, outputs={"first": str, "count": int},
    command=["sh", "-c", "cat {{.inputDir}}/items > {{.outputDir}}/first; echo 2 > {{.outputDir}}/count"],
    environment={"GREETING": "hi"},
)

broken = ContainerTask("broken", image="busybox", inputs={}, outputs={"x": int},
                       command=["sh", "-c", "echo oops >&2; exit 3"])


@task
def plus_one(x: int) -> int:
    return x + 1


@workflow
def counted(text: str) -> int:
    return plus_one(x=word_count(text=text, factor=10))


def test_container_command_runs_in_a_workflow() -> None:
    assert counted(text="a b c") == 31


def test_inputs_as_files_and_several_outputs() -> None:
    first, count = echo_lines(items=["x", "y"])
    assert first == '["x", "y"]' and count == 2


def test_a_failing_command_fails_with_its_exit_code_and_stderr() -> None:
    with pytest.raises(RuntimeError, match="exited with 3: oops"):
        broken()

    @workflow
    def uses_broken() -> int:
        return plus_one(x=broken())

    with pytest.raises(ExecutionFailedError, match="exited with 3"):
        uses_broken()
