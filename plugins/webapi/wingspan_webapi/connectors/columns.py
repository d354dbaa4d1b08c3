"""A query's result as a task's outputs: an output takes the column of its name (case aside);
a list output (``list[int]``) every row's value of it, across all pages, a scalar output the
first row's. Warehouses send values as text in JSON; the output's declared type reads them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from wingspan.core.model.interface import Variable
from wingspan.core.model.literals import SimpleType

__all__ = ["column_outputs", "wants_rows"]


def wants_rows(outputs: Sequence[Variable]) -> bool:
    """Whether some output takes a whole column (so every page must be read)."""
    return any(v.type is not None and v.type.kind == "collection_type" for v in outputs)


def column_outputs(
    where: str, outputs: Sequence[Variable], names: Sequence[str], rows: Sequence[Sequence[Any]]
) -> dict[str, Any]:
    by_name = {name.lower(): i for i, name in enumerate(names)}
    values: dict[str, Any] = {}
    for variable in outputs:
        index = by_name.get(variable.name.lower())
        if index is None:
            raise ValueError(
                f"{where}: output {variable.name!r} has no column of that name in the result "
                f"(columns: {', '.join(names) or 'none'}); name it with AS {variable.name}"
            )
        assert variable.type is not None
        if variable.type.kind == "collection_type":
            values[variable.name] = [_read(row[index], variable.type.value) for row in rows]
        elif not rows:
            raise ValueError(
                f"{where}: the query returned no rows, but output {variable.name!r} is read "
                "from its first row"
            )
        else:
            values[variable.name] = _read(rows[0][index], variable.type)
    return values


def _read(value: Any, lt: Any) -> Any:
    if value is None or lt.kind != "simple":
        return value
    kind = SimpleType(lt.value)
    if kind == SimpleType.INTEGER:
        return int(value) if not isinstance(value, str) or "." not in value else int(float(value))
    if kind == SimpleType.FLOAT:
        return float(value)
    if kind == SimpleType.BOOLEAN and isinstance(value, str):
        return value.lower() in ("true", "1")
    if kind == SimpleType.STRING:
        return str(value)
    return value
