"""pandas frames, arrow tables and the lazy DataFrame feed one another, and a declared
column subset (``Annotated[pd.DataFrame, {"a": int}]``) is applied and checked (issue #22
item 6), in this process and through local-process workers alike."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import pytest

from tests.unit.sdk.frame_flows import every_way as every_way_flow
from tests.unit.sdk.frame_flows import missing_column, subsets, wrong_column_type
from wingspan import task, workflow
from wingspan.core.errors import CompilationError, ExecutionFailedError
from wingspan.core.types import type_repr


@pytest.fixture(params=["in-process", "local-process"])
def target(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    monkeypatch.setenv("WINGSPAN_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("WINGSPAN_TASK_TARGETS", "" if request.param == "in-process" else request.param)
    return str(request.param)


EVERY_WAY = ["lazy:['a', 'b', 'c']:3", "arrow:['a', 'b', 'c']:3", "pandas:['a', 'b', 'c']:2",
             "arrow:['a', 'b', 'c']:2", "pandas:['a', 'b', 'c']:1", "lazy:['a', 'b', 'c']:1"]
SUBSETS = ["pandas:['a', 'b']:6", "arrow:['c']", "lazy:['b']", "pandas:['a', 'b']:9", "lazy:['b']"]


def test_each_kind_of_frame_feeds_each_other(target: str) -> None:
    assert every_way_flow() == EVERY_WAY


def test_declared_columns_are_all_a_task_receives(target: str) -> None:
    assert subsets() == SUBSETS


def test_a_missing_column_fails_naming_the_input_and_the_column(target: str) -> None:
    with pytest.raises(ExecutionFailedError, match=r"input 'df'.*missing column\(s\) \['d'\]"):
        missing_column()


def test_a_column_of_another_type_fails_naming_both_types(target: str) -> None:
    with pytest.raises(ExecutionFailedError, match=r"input 'df'.*'a' is int, declared str"):
        wrong_column_type()


@task
def typed_output() -> Annotated[pd.DataFrame, {"a": int, "b": str}]:
    return pd.DataFrame({"a": [1], "b": ["x"], "extra": [True]})


@task
def wants_z(df: Annotated[pd.DataFrame, {"z": int}]) -> int:
    return len(df)


@task
def wants_b(df: Annotated[pd.DataFrame, {"b": str}]) -> list[str]:
    return list(df.columns)


def test_columns_declared_on_both_sides_are_checked_at_definition() -> None:
    with pytest.raises(CompilationError, match=r"input 'df' expects Annotated\[pd.DataFrame, \{'z': int\}\]"):
        @workflow
        def mismatched() -> int:
            result: int = wants_z(df=typed_output())
            return result

    @workflow
    def matched() -> list[str]:
        result: list[str] = wants_b(df=typed_output())
        return result

    assert matched() == ["b"]


def test_a_declared_output_keeps_only_its_columns() -> None:
    assert list(typed_output().columns) == ["a", "b"]


def test_pandas_frames_are_named_apart_from_wingspans_own() -> None:
    from wingspan import DataFrame

    assert (type_repr(pd.DataFrame), type_repr(DataFrame)) == ("pd.DataFrame", "DataFrame")
