"""Dask for Wingspan: task bodies with a Dask client, and Dask DataFrames as task data.

``Dask`` is the task config (``@task(task_config=Dask(workers=2))``, task type ``dask``): the body
gets a client as ``current_context().dask_client``. A ``dask.dataframe.DataFrame`` returned from
a task is written by the cluster's workers as Parquet parts in the blob store
(``DaskFrameTransformer``) and arrives in the next task as a Dask, pandas or arrow frame, as that
task declares. ``DaskConfig`` is the ``[plugins.dask]`` table.
"""

from __future__ import annotations

from wingspan_dask._config import DaskConfig
from wingspan_dask._task_config import Dask

__all__ = ["Dask", "DaskConfig"]
