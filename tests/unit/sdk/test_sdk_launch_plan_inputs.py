"""A launch plan's fixed inputs cannot be set by a run, however it is started (one rule, in core)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from wingspan import LaunchPlan, task, workflow
from wingspan.cli import cli
from wingspan.core.errors import InvalidArgumentError
from wingspan.core.model.launch_plans import run_inputs


@task
def add(a: int, b: int) -> int:
    return a + b


@workflow
def total(a: int, b: int = 1) -> int:
    return add(a=a, b=b)


plan = LaunchPlan.get_or_create(total, "fixed_b", fixed_inputs={"b": 10}, default_inputs={"a": 2})


def test_the_merge_order_is_defaults_then_given_then_fixed() -> None:
    assert run_inputs("p", {"a": 1, "b": 1}, {"a": 5}, {"c": 9}) == {"a": 5, "b": 1, "c": 9}


def test_a_given_value_for_a_fixed_input_is_refused_not_replaced() -> None:
    with pytest.raises(InvalidArgumentError, match=r"launch plan 'p' fixes 'b': a run cannot set it"):
        run_inputs("p", {}, {"a": 1, "b": 3}, {"b": 10})


def test_a_plan_run_locally_keeps_its_fixed_input() -> None:
    assert plan(a=1) == 11
    assert plan.run_local({"a": 1}) == 11
    with pytest.raises(InvalidArgumentError, match="fixes 'b'"):
        plan.run_local({"a": 1, "b": 3})


FLOW = """
from wingspan import LaunchPlan, task, workflow

@task
def plus(a: int, b: int) -> int:
    return a + b

@workflow
def summed(a: int, b: int = 1) -> int:
    return plus(a=a, b=b)

cli_plan = LaunchPlan.get_or_create(summed, "cli_fixed_b", fixed_inputs={"b": 10})
"""


def test_the_command_line_refuses_to_set_a_fixed_input(tmp_path: Path) -> None:
    source = tmp_path / "cli_flow.py"
    source.write_text(FLOW)
    ran = CliRunner().invoke(cli, ["run", str(source), "cli_fixed_b", "--a", "1"])
    assert ran.exit_code == 0 and ran.output.startswith("11\n"), ran.output
    result = CliRunner().invoke(cli, ["run", str(source), "cli_fixed_b", "--a", "1", "--b", "3"])
    assert result.exit_code != 0
    assert "has no input '--b'" in result.output, result.output  # the plan's inputs leave b out
