"""The filters and sort of every list, written the same way for projects, entities and executions.

A filter is ``FIELD OP VALUE`` in one string: ``phase=succeeded``, ``created_at>=2026-12-01``,
``name~train`` (contains), ``name^=etl.`` (starts with), ``phase=failed,timed_out`` (any of
them); a sort is a field, ``-`` before it for descending (``-created_at``). The server names
the fields each list accepts when one is wrong.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from wingspan.core.errors import InvalidArgumentError
from wingspan.protos import v1

__all__ = ["OPERATORS", "parse_filter", "parse_filters", "parse_sort"]

#: the spelling of each operator, longest first so that ``>=`` is not read as ``>``
OPERATORS = {
    "!=": v1.FilterOperator.NEQ, ">=": v1.FilterOperator.GTE, "<=": v1.FilterOperator.LTE,
    "^=": v1.FilterOperator.STARTS_WITH, "=": v1.FilterOperator.EQ, ">": v1.FilterOperator.GT,
    "<": v1.FilterOperator.LT, "~": v1.FilterOperator.CONTAINS,
}
_SHAPE = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*(!=|>=|<=|\^=|=|>|<|~)(.*)", re.DOTALL)


def parse_filter(text: str) -> v1.Filter:
    """One filter from ``FIELD OP VALUE``; ``=`` with commas is any of the values."""
    found = _SHAPE.fullmatch(text)
    if found is None or not found.group(3).strip():
        spellings = " ".join(OPERATORS)
        raise InvalidArgumentError(
            f"filter {text!r}: write FIELD OP VALUE with OP one of {spellings} "
            f"(e.g. phase=succeeded, created_at>=2026-12-01, name~train)")
    field, op, value = found.group(1), found.group(2), found.group(3).strip()
    if op == "=" and "," in value:
        values = [v.strip() for v in value.split(",") if v.strip()]
        return v1.Filter(field=field, operator=v1.FilterOperator.IN, values=values)
    return v1.Filter(field=field, operator=OPERATORS[op], values=[value])


def parse_filters(texts: Sequence[str]) -> list[v1.Filter]:
    return [parse_filter(t) for t in texts]


def parse_sort(text: str) -> v1.Sort | None:
    """``KEY`` ascending, ``-KEY`` descending; None (the list's own order) for ""."""
    text = text.strip()
    if not text:
        return None
    descending = text.startswith("-")
    key = text.lstrip("-+")
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
        raise InvalidArgumentError(f"sort {text!r}: give a field name, with - before it for descending")
    return v1.Sort(key=key, ascending=not descending)
