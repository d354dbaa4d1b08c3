"""Flyte users' task code runs with flytekit's spellings: ``current_context().working_directory``,
``.execution_id.name`` / ``.project`` / ``.domain``, ``.logging``, and ``DataFrame.open(kind).all()``
/ ``.iter()`` — in this process and in local-process workers."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.unit.sdk.flytekit_spelling_flows import spelled
from wingspan import DataFrame
from wingspan.core.engine.context import ExecutionContext, ExecutionName


@pytest.fixture(params=["in-process", "local-process"])
def target(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    monkeypatch.setenv("WINGSPAN_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("WINGSPAN_TASK_TARGETS", "" if request.param == "in-process" else request.param)
    return str(request.param)


def test_task_code_with_flytekit_spellings_runs(target: str) -> None:
    assert spelled() == ("True:True", "6:['a', 'b']:3")


def test_a_server_execution_id_answers_its_parts_and_stays_a_string() -> None:
    context = ExecutionContext(ExecutionName("flowers/production/e1f2"), "n0", 0)
    assert (context.execution_id.project, context.execution_id.domain, context.execution_id.name) == (
        "flowers", "production", "e1f2")
    assert context.execution_id == "flowers/production/e1f2"
    assert f"{context.execution_id}/n0" == "flowers/production/e1f2/n0"


def test_a_local_execution_id_has_its_name_and_no_project() -> None:
    context = ExecutionContext(ExecutionName("local-9c71"), "n0", 0)
    assert (context.execution_id.name, context.execution_id.project, context.execution_id.domain) == (
        "local-9c71", "", "")


def test_a_frame_opens_only_as_pandas_or_arrow() -> None:
    with pytest.raises(TypeError, match=r"opens as pandas.DataFrame or pyarrow.Table"):
        DataFrame(pd.DataFrame({"a": [1]})).open(dict)
