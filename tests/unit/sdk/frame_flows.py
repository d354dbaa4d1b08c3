"""Frames of every kind feeding each other, and declared column subsets (issue #22 item 6).
Run by test_sdk_frames_connect and tests/unit/remote/test_remote_sdk_values."""

from __future__ import annotations

from typing import Annotated

import pandas as pd
import pyarrow as pa

from wingspan import DataFrame, task, workflow


@task
def make_pandas() -> pd.DataFrame:
    return pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"], "c": [0.5, 1.5, 2.5]})


@task
def make_lazy() -> DataFrame:
    return DataFrame(pd.DataFrame({"a": [4, 5], "b": ["u", "v"], "c": [1.0, 2.0]}))


@task
def make_arrow() -> pa.Table:
    return pa.table({"a": [7], "b": ["w"], "c": [3.0]})


@task
def describe_lazy(df: DataFrame) -> str:
    frame = df.to_pandas()
    return f"lazy:{list(frame.columns)}:{len(frame)}"


@task
def describe_pandas(df: pd.DataFrame) -> str:
    return f"pandas:{list(df.columns)}:{len(df)}"


@task
def describe_arrow(table: pa.Table) -> str:
    return f"arrow:{table.column_names}:{table.num_rows}"


@task
def pandas_subset(df: Annotated[pd.DataFrame, {"a": int, "b": str}]) -> str:
    return f"pandas:{list(df.columns)}:{df['a'].sum()}"


@task
def arrow_subset(table: Annotated[pa.Table, {"c": float}]) -> str:
    return f"arrow:{table.column_names}"


@task
def lazy_subset(df: Annotated[DataFrame, {"b": str}]) -> str:
    return f"lazy:{df.to_arrow().column_names}"


@task
def needs_d(df: Annotated[pd.DataFrame, {"d": int}]) -> int:
    return len(df)


@task
def needs_a_as_text(df: Annotated[pd.DataFrame, {"a": str}]) -> int:
    return len(df)


@workflow
def every_way() -> list[str]:
    pandas, lazy, arrow = make_pandas(), make_lazy(), make_arrow()
    described: list[str] = [
        describe_lazy(df=pandas), describe_arrow(table=pandas),
        describe_pandas(df=lazy), describe_arrow(table=lazy),
        describe_pandas(df=arrow), describe_lazy(df=arrow),
    ]
    return described


@workflow
def subsets() -> list[str]:
    pandas, lazy = make_pandas(), make_lazy()
    cut: list[str] = [pandas_subset(df=pandas), arrow_subset(table=pandas), lazy_subset(df=pandas),
                      pandas_subset(df=lazy), lazy_subset(df=lazy)]
    return cut


@workflow
def missing_column() -> int:
    result: int = needs_d(df=make_pandas())
    return result


@workflow
def wrong_column_type() -> int:
    result: int = needs_a_as_text(df=make_pandas())
    return result
