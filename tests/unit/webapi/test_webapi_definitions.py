"""wingspan-webapi's SDK half: every problem of a task definition reported at once, when it is
defined; the plugin listed with its task types; a Databricks run's log read from its handle."""

from __future__ import annotations

import subprocess
import sys

import anyio
import pytest
from wingspan_webapi import BigQueryTask, DatabricksTask, HttpTask, WebApiConfig, WebApiPlugin

from tests.unit.webapi.providers import TASK_RUN_OFFSET, TOKEN, Databricks
from wingspan import kwtypes
from wingspan.core.errors import CompilationError, ConfigError


def test_every_problem_of_a_definition_is_reported_at_once() -> None:
    with pytest.raises(CompilationError) as caught:
        HttpTask(
            "call",
            "/relative/{{ .inputs.missing }}",
            method="FETCH",
            inputs=kwtypes(unused=int),
            outputs=kwtypes(n=int),
            fields={"m": "a.b"},
        )
    text = str(caught.value)
    for part in (
        "method 'FETCH' is not one of",
        "url must be an http:// or https:// URL",
        "fields names 'm', which is not an output",
        "{{ .inputs.missing }} names no input",
        "input 'unused' is not used",
    ):
        assert part in text, part
    with pytest.raises(CompilationError) as caught:
        BigQueryTask("q", "SELECT {{ .inputs.rows }} {{ inputs.typo }}", inputs=kwtypes(rows=list[int]))
    text = str(caught.value)
    assert "input 'rows': a query parameter is one of int, float, str, bool" in text
    assert "is not a placeholder" in text
    with pytest.raises(CompilationError) as caught:
        DatabricksTask("d", 0, outputs=kwtypes(notebook=str))
    text = str(caught.value)
    assert "output 'notebook' is not one a run gives (run_id, run_page_url, result)" in text
    assert "job_id must be the job's number, not 0" in text


def test_the_plugin_is_listed_with_its_task_types() -> None:
    listed = subprocess.run(
        [sys.executable, "-m", "wingspan.cli", "plugins", "list"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    (row,) = [line for line in listed.splitlines() if line.startswith("webapi")]
    assert "wingspan-webapi" in row and "webapi (http, bigquery, snowflake, databricks)" in row


def test_a_databricks_runs_log_is_read_from_its_handle() -> None:
    with Databricks() as databricks:
        databricks.jobs[3] = None
        databricks.runs[1000] = {"job_id": 3, "state": "done", "params": {}}
        plugin = WebApiPlugin(WebApiConfig(databricks_url=databricks.url, databricks_token=TOKEN))

        async def read() -> bytes:
            try:
                handle = {"connector": "databricks", "key": "k", "resource": {"job_id": 3, "run_id": 1000}}
                return await plugin.read_logs(handle, offset=4)
            finally:
                await plugin.aclose()

        log = anyio.run(read)
    assert log.startswith(b"1000 log line\n") and b"ZeroDivisionError" in log
    (output,) = [r for r in databricks.requests if r["path"].endswith("get-output")]
    assert output["query"] == {"run_id": str(1000 + TASK_RUN_OFFSET)}  # the task's run, not the job's


def test_fewer_than_one_connection_is_refused_with_the_setting_named() -> None:
    with pytest.raises(ConfigError, match=r"webapi: connections is 0; .*at least 1"):
        WebApiPlugin(WebApiConfig(connections=0))
