"""A run's inputs checked against what the entity declares, before anything runs."""

from __future__ import annotations

from typing import Any, Protocol

from wingspan.core.errors import TypeTransformerError
from wingspan.core.types import default_engine, type_repr

__all__ = ["Runnable", "check_inputs"]


class Runnable(Protocol):
    """What the runner reads of an entity of the authoring API (which sits above it)."""

    name: str
    kind_label: str

    @property
    def interface(self) -> Any: ...


def check_inputs(entity: Runnable, values: dict[str, Any]) -> None:
    """Every input given, each of its declared type, or the error naming the first that is not."""
    engine = default_engine()
    for name, value in values.items():
        py_type = entity.interface.inputs[name]
        if not engine.fits(value, py_type):
            raise TypeTransformerError(f"{entity.kind_label} {entity.name!r}, input {name!r}: expected "
                                       f"{type_repr(py_type)}, got {type(value).__name__} {value!r:.60}")
    missing = [n for n in entity.interface.inputs if n not in values]
    if missing:
        raise TypeError(f"{entity.kind_label} {entity.name!r} is missing required inputs {missing}")
