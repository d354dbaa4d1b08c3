"""Where a running task writes data it makes directly in the blob store (``File.new_remote``,
``Directory.new_remote``): the attempt's raw-data folder, which the running task's context
knows. The context variable lives here, below the engine that sets it, so the file types can
ask for a place without importing the engine."""

from __future__ import annotations

import contextvars
from typing import TYPE_CHECKING, Protocol

from wingspan.core.errors import UserError

if TYPE_CHECKING:
    from wingspan.core.storage.interface import BlobStore

__all__ = ["RawDataPlace", "current_place", "new_raw_location"]


class RawDataPlace(Protocol):
    """What a running task's context offers the file types."""

    def raw_data_location(self, name: str) -> tuple[BlobStore | None, str]:
        """The attempt's store (None: this process's configured one) and a fresh URI in its
        raw-data folder ending in ``name``."""


# the engine's ExecutionContext of the running task (core/engine/context.py sets it)
current_place: contextvars.ContextVar[RawDataPlace | None] = contextvars.ContextVar(
    "wingspan_execution_context", default=None)


def new_raw_location(name: str, what: str) -> tuple[BlobStore | None, str]:
    """A fresh location for ``what`` in the running attempt's raw-data folder."""
    place = current_place.get()
    if place is None:
        raise UserError(f"{what} is available only inside a running task (it writes to the "
                        "execution's blob store): outside one, make a File or Directory from a "
                        "local path")
    return place.raw_data_location(name)
