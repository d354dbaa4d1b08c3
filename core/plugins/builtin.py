"""The built-in plugin: Wingspan's own targets, type transformers and blob stores,
registered through the same hooks as any installed plugin."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from wingspan.core.plugins.hookspecs import hookimpl

__all__ = ["wingspan_blob_stores", "wingspan_image_builders", "wingspan_task_plugins",
           "wingspan_type_transformers"]

if TYPE_CHECKING:
    from wingspan.core.config import Settings
    from wingspan.core.images.builders import ImageBuilder
    from wingspan.core.plugins.contract import TaskPlugin
    from wingspan.core.storage.interface import BlobStore
    from wingspan.core.types.transformer import TypeTransformer


@hookimpl
def wingspan_task_plugins() -> Sequence[TaskPlugin]:
    from wingspan.core.plugins.inprocess_target import InProcessTarget
    from wingspan.core.plugins.localproc.target import LocalProcessTarget

    return [InProcessTarget(), LocalProcessTarget()]


@hookimpl
def wingspan_type_transformers() -> Sequence[TypeTransformer]:
    from wingspan.core.types import default_engine

    # the very objects of the process-wide engine, so that installing plugins skips them
    return list(default_engine().transformers)


@hookimpl
def wingspan_blob_stores(uri: str, settings: Settings) -> BlobStore | None:
    from wingspan.core.storage import store_for_uri

    if uri.startswith(("file://", "s3://", "abfs://", "az://", "gs://")):
        return store_for_uri(uri, settings)
    return None


@hookimpl
def wingspan_image_builders() -> Sequence[ImageBuilder]:
    from wingspan.core.images.builders import BuildahBuilder

    return [BuildahBuilder()]
