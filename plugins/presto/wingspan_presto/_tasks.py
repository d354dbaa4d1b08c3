"""The SDK half: ``TrinoTask``, ``PrestoTask`` and ``SQLTask``, tasks whose body is a SQL
template with typed inputs (``{{ .inputs.name }}``, bound as parameters, never pasted).

``output`` says what the task returns: a data frame type (``wingspan.DataFrame``, a pandas
DataFrame or a pyarrow Table: every row, stored as Parquet), ``kwtypes(name=int, ...)`` (the
first row's columns of those names, as typed scalars), or nothing (statements run for their
effect)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from wingspan import PluginTask
from wingspan.core.types import UnsupportedTypeError, default_engine, type_repr
from wingspan_presto._templating import placeholder_problems

__all__ = ["FRAME_OUTPUT", "PrestoTask", "SQLTask", "TrinoTask"]

#: the name of a data-frame output
FRAME_OUTPUT = "results"
_SCALARS = (int, float, str, bool, dt.datetime)


def _is_frame(py_type: Any) -> bool:
    try:
        return default_engine().literal_type(py_type).kind == "structured_dataset_type"
    except UnsupportedTypeError:
        return False


def _interface(where: str, query_template: str, inputs: Mapping[str, Any] | None,
               output: Any) -> tuple[dict[str, Any], str, list[str]]:
    """The outputs by name, the output kind (frame, scalars, none) and the problems found."""
    given = dict(inputs or {})
    problems = placeholder_problems(where, query_template, given)
    for name, py_type in given.items():
        if py_type not in _SCALARS:
            problems.append(f"{where}, input {name!r}: a query parameter is one of "
                            f"{', '.join(t.__name__ for t in _SCALARS)}, not {type_repr(py_type)}")
    if output is None:
        return {}, "none", problems
    if isinstance(output, Mapping):
        for name, py_type in output.items():
            if py_type not in _SCALARS:
                problems.append(f"{where}, output {name!r}: a scalar output is one of "
                                f"{', '.join(t.__name__ for t in _SCALARS)}, not {type_repr(py_type)}; "
                                "for every row, write output=DataFrame")
        return dict(output), "scalars", problems
    if _is_frame(output):
        return {FRAME_OUTPUT: output}, "frame", problems
    problems.append(f"{where}: output={type_repr(output)} is neither a data frame type (wingspan.DataFrame, "
                    "pandas.DataFrame, pyarrow.Table) nor kwtypes(name=type, ...) of scalars")
    return {}, "none", problems


class _QueryTask(PluginTask):
    def __init__(self, name: str, query_template: str, task_type: str, settings: Mapping[str, Any], *,
                 inputs: Mapping[str, Any] | None, output: Any, problems: list[str], **options: Any) -> None:
        where = f"{self.kind_label} {name!r}"
        outputs, kind, found = _interface(where, query_template, inputs, output)
        custom = {"query_template": query_template, "output_kind": kind, **settings}
        super().__init__(name, task_type, custom, inputs=inputs, outputs=outputs, problems=problems + found,
                         **options)
        self.query_template = query_template


class TrinoTask(_QueryTask):
    """A query on the Trino coordinator the plugin is configured with (``trino_url``)."""

    kind_label = "trino task"
    task_type = "trino"

    def __init__(self, name: str, query_template: str, *, inputs: Mapping[str, Any] | None = None,
                 output: Any = None, catalog: str = "", schema: str = "",
                 session_properties: Mapping[str, str] | None = None, user: str = "", **options: Any) -> None:
        problems = []
        properties = dict(session_properties or {})
        for key, value in properties.items():
            if not isinstance(key, str) or not isinstance(value, str) or not key:
                problems.append(f"{self.kind_label} {name!r}: session_properties maps names to text values, "
                                f"not {key!r}: {value!r}")
        if schema and not catalog:
            problems.append(f"{self.kind_label} {name!r}: schema={schema!r} needs a catalog too")
        settings = {"catalog": catalog, "schema": schema, "session_properties": properties, "user": user}
        super().__init__(name, query_template, self.task_type, settings, inputs=inputs, output=output,
                         problems=problems, **options)


class PrestoTask(TrinoTask):
    """A query on the PrestoDB coordinator the plugin is configured with (``presto_url``)."""

    kind_label = "presto task"
    task_type = "presto"


class SQLTask(_QueryTask):
    """A query on a database through SQLAlchemy (PostgreSQL, SQLite, DuckDB): ``connection``
    names one of the plugin's configured ``connections``."""

    kind_label = "sql task"
    task_type = "sql"

    def __init__(self, name: str, query_template: str, *, connection: str,
                 inputs: Mapping[str, Any] | None = None, output: Any = None, **options: Any) -> None:
        problems = []
        if not isinstance(connection, str) or not connection:
            problems.append(f"{self.kind_label} {name!r}: connection must name one of the plugin's "
                            "connections ([plugins.presto] connections)")
        super().__init__(name, query_template, self.task_type, {"connection": connection}, inputs=inputs,
                         output=output, problems=problems, **options)
