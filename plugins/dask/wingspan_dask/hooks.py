"""The plugin's hooks (entry point ``dask`` in the group ``wingspan``). Importing this module
loads neither Dask nor distributed: they come on first use."""

from __future__ import annotations

from collections.abc import Sequence

from wingspan.plugin import TypeTransformer, hookimpl
from wingspan_dask._config import DaskConfig


@hookimpl
def wingspan_config_schema() -> type:
    return DaskConfig


@hookimpl
def wingspan_type_transformers(config: DaskConfig) -> Sequence[TypeTransformer]:
    from wingspan_dask._frames import DaskFrameTransformer

    return [DaskFrameTransformer()]
