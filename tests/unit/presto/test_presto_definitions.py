"""wingspan-presto's SDK half and its fixed parts: query templates checked when a task is
defined (every problem at once), values rendered as typed literals that cannot end their
literal, and the plugin listed with its task types."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys

import pandas as pd
import pytest
from wingspan_presto import PrestoTask, SQLTask, TrinoTask
from wingspan_presto._parameters import sql_literal
from wingspan_presto._templating import render

from wingspan import DataFrame, kwtypes
from wingspan.core.errors import CompilationError
from wingspan.core.types.naturals import to_natural


def test_a_template_becomes_markers_and_the_inputs_they_bind() -> None:
    bound = render("SELECT * FROM t WHERE a = {{ .inputs.a }} AND b > {{.inputs.b}} OR a = {{ .inputs.a }}",
                   lambda name, index: "?")
    assert bound.sql == "SELECT * FROM t WHERE a = ? AND b > ? OR a = ?"
    assert bound.names == ("a", "b", "a")
    assert bound.values({"a": 1, "b": "x"}) == [1, "x", 1]


def test_every_problem_of_a_definition_is_reported_at_once() -> None:
    with pytest.raises(CompilationError) as caught:
        TrinoTask("bad", "SELECT {{ .inputs.missing }} {{ inputs.typo }}",
                  inputs=kwtypes(unused=int, frame=DataFrame), output=kwtypes(rows=list), schema="tiny",
                  session_properties={"x": 1}, retries=-1)  # type: ignore[dict-item]
    text = str(caught.value)
    for part in ("{{ .inputs.missing }}, which is not an input", "input 'unused' is not used",
                 "'{{ inputs.typo }}' is not a placeholder", "input 'frame': a query parameter is one of",
                 "output 'rows': a scalar output", "schema='tiny' needs a catalog", "session_properties",
                 "retries=-1"):
        assert part in text, part


@pytest.mark.parametrize("output, outputs", [(DataFrame, ["results"]), (pd.DataFrame, ["results"]),
                                             (kwtypes(n=int, name=str), ["n", "name"]), (None, [])])
def test_the_output_is_a_frame_typed_scalars_or_nothing(output: object, outputs: list[str]) -> None:
    task = SQLTask("q", "SELECT 1", connection="db", output=output)
    assert task.template.interface is not None
    assert [v.name for v in task.template.interface.outputs] == outputs


def test_the_template_carries_what_the_plugin_needs() -> None:
    task = PrestoTask("p", "SELECT {{ .inputs.x }}", inputs=kwtypes(x=str), output=kwtypes(x=str),
                      catalog="tpch", schema="tiny", session_properties={"query_max_run_time": "1m"},
                      user="ada")
    template = task.template
    assert template.type == "presto"
    assert template.custom is not None
    custom = {k: to_natural(v) for k, v in template.custom.literals.items()}
    assert custom == {"query_template": "SELECT {{ .inputs.x }}", "output_kind": "scalars", "catalog": "tpch",
                      "schema": "tiny", "session_properties": {"query_max_run_time": "1m"}, "user": "ada"}


def test_a_value_cannot_end_its_literal() -> None:
    assert sql_literal("'; DROP TABLE x; --") == "VARCHAR '''; DROP TABLE x; --'"
    assert sql_literal("it's") == "VARCHAR 'it''s'"


@pytest.mark.parametrize("value, literal", [
    (None, "NULL"), (True, "true"), (7, "BIGINT '7'"), (-2.5, "DOUBLE '-2.5'"), (float("nan"), "nan()"),
    (float("-inf"), "-infinity()"),
    (dt.datetime(2026, 1, 2, 3, 4, 5), "TIMESTAMP '2026-01-02 03:04:05.000000'"),
    (dt.datetime(2026, 1, 2, tzinfo=dt.UTC), "TIMESTAMP '2026-01-02 00:00:00.000000 +00:00'"),
])
def test_each_type_has_its_typed_literal(value: object, literal: str) -> None:
    assert sql_literal(value) == literal


def test_plugins_list_shows_the_package_and_its_task_types() -> None:
    done = subprocess.run([sys.executable, "-m", "wingspan.cli", "plugins", "list", "-o", "json"],
                          capture_output=True, text=True, timeout=120, check=True)
    loaded = {p["name"]: p for p in json.loads(done.stdout)["loaded"]}
    assert loaded["presto"]["distribution"] == "wingspan-presto"
    assert loaded["presto"]["provides"]["task plugins"] == ["presto (trino, presto)", "sql (sql)"]
