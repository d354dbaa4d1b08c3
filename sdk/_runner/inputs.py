"""A run's inputs checked against what the entity declares, before anything runs."""

from __future__ import annotations

from typing import Any, Protocol

from wingspan.core.engine.inprocess import holds_data
from wingspan.core.errors import TypeTransformerError, UserError
from wingspan.core.types import default_engine, type_repr
from wingspan.core.types.files import Directory, File, files_from_text, mentions_files
from wingspan.core.types.remote_reads import unreadable_reason

__all__ = ["Runnable", "check_inputs"]


class Runnable(Protocol):
    """What the runner reads of an entity of the authoring API (which sits above it)."""

    name: str
    kind_label: str

    @property
    def interface(self) -> Any: ...


def check_inputs(entity: Runnable, values: dict[str, Any]) -> None:
    """Every input given, each of its declared type and readable here, or the error naming the
    first that is not (a path given as text for a File is made one, in place)."""
    engine = default_engine()
    for name, value in values.items():
        py_type = entity.interface.inputs[name]
        if not engine.fits(value, py_type):
            raise TypeTransformerError(f"{entity.kind_label} {entity.name!r}, input {name!r}: expected "
                                       f"{type_repr(py_type)}, got {type(value).__name__} {value!r:.60}")
        if mentions_files(py_type):  # a path given as text for a File
            values[name] = files_from_text(value, py_type)
    missing = [n for n in entity.interface.inputs if n not in values]
    if missing:
        raise TypeError(f"{entity.kind_label} {entity.name!r} is missing required inputs {missing}")
    typed = getattr(entity.interface, "typed", None)
    with_data = {v.name for v in typed.inputs if holds_data(v.type)} if typed is not None else set(values)
    for name, value in values.items():
        if name not in with_data:  # only inputs typed to hold files or folders are walked
            continue
        for reference in _remote_references(value):
            reason = unreadable_reason(reference.uri or "", folder=isinstance(reference, Directory))
            if reason:
                raise UserError(f"{entity.kind_label} {entity.name!r}, input {name!r}: {reference!r} "
                                f"cannot be read here: {reason}")


def _remote_references(value: Any) -> list[File | Directory]:
    """The files and folders in an input that name a URI and came with no store to read it."""
    if isinstance(value, (File, Directory)):
        return [value] if value.uri is not None and value.store is None else []
    if isinstance(value, (list, tuple)):
        return [found for item in value for found in _remote_references(item)]
    if isinstance(value, dict):
        return [found for item in value.values() for found in _remote_references(item)]
    return []
