"""Task code written with flytekit's spellings of the context and of frame reading (imported by
test_sdk_flytekit_spellings.py; a module of its own so local-process workers can import it)."""

from __future__ import annotations

import os

import pandas as pd
import pyarrow as pa

from wingspan import DataFrame, current_context, task, workflow


@task
def where_it_runs() -> str:
    context = current_context()
    folder = context.working_directory
    with open(os.path.join(folder, "note.txt"), "w") as file:
        file.write("written")
    context.logging.info("wrote into %s", folder)
    return f"{os.path.isdir(folder)}:{context.execution_id.name == str(context.execution_id)}"


@task
def make_frame() -> DataFrame:
    return DataFrame(pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]}))


@task
def read_frame(frame: DataFrame) -> str:
    whole = frame.open(pd.DataFrame).all()
    table = frame.open(pa.Table).all()
    rows = sum(len(part) for part in frame.open(pd.DataFrame).iter())
    return f"{int(whole['a'].sum())}:{table.column_names}:{rows}"


@workflow
def spelled() -> tuple[str, str]:
    return where_it_runs(), read_frame(frame=make_frame())
