"""Cached tasks fed files, folders and frames (issue #22 item 5): identical data hits,
other data misses. Run by test_sdk_cache_by_content and tests/unit/remote/test_remote_sdk_values."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd

from wingspan import DataFrame, Directory, File, HashMethod, task, workflow


@task(cache=True, cache_version="1")
def count_rows(df: pd.DataFrame) -> int:
    return len(df)


@task(cache=True, cache_version="1")
def count_lazy_rows(df: DataFrame) -> int:
    return len(df.to_pandas())


@task(cache=True, cache_version="1")
def file_size(source: File) -> int:
    return len(Path(source.download()).read_bytes())


@task(cache=True, cache_version="1")
def folder_files(folder: Directory) -> int:
    return len(folder.files())


@task
def make_frame(n: int, seed: int) -> pd.DataFrame:
    return pd.DataFrame({"a": [seed + i for i in range(n)]})


@workflow
def frame_rows(n: int, seed: int) -> int:
    """A frame made by one task (stored anew on every run) counted by a cached one."""
    result: int = count_rows(df=make_frame(n=n, seed=seed))
    return result


def by_length(frame: pd.DataFrame) -> str:
    return f"rows={len(frame)}"


@task
def make_hashed(n: int, seed: int) -> Annotated[pd.DataFrame, HashMethod(by_length)]:
    return pd.DataFrame({"a": [seed + i for i in range(n)]})


@task(cache=True, cache_version="1")
def first_value(df: pd.DataFrame) -> int:
    return int(df["a"].iloc[0])


@workflow
def hashed_first(n: int, seed: int) -> int:
    """The producer's HashMethod names its frame by its length alone: same length, a hit."""
    result: int = first_value(df=make_hashed(n=n, seed=seed))
    return result


@task(cache=True, cache_version="1")
def first_of_input(df: Annotated[pd.DataFrame, HashMethod(by_length)]) -> int:
    return int(df["a"].iloc[0])
