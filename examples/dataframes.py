"""A data-frame pipeline: frames travel between tasks as Parquet."""

import pandas as pd

from wingspan import DataFrame, task, workflow


@task
def make_sales(rows: int) -> pd.DataFrame:
    return pd.DataFrame({"region": ["eu", "us"] * rows, "amount": list(range(2 * rows))})


@task
def by_region(sales: pd.DataFrame) -> DataFrame:
    return DataFrame(sales.groupby("region", as_index=False)["amount"].sum())


@task
def top_region(totals: DataFrame) -> str:
    frame = totals.to_pandas()
    return str(frame.sort_values("amount").iloc[-1]["region"])


@workflow
def sales_pipeline(rows: int = 5) -> str:
    return top_region(totals=by_region(sales=make_sales(rows=rows)))
