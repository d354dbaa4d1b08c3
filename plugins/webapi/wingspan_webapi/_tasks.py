"""The SDK half: the tasks users write. Each stores plain settings that the engine's connector
reads; inputs reach a service only through ``{{ .inputs.name }}`` placeholders."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wingspan import PluginTask
from wingspan.core.types import type_repr
from wingspan_webapi._templating import PLACEHOLDER, placeholder_problems

__all__ = ["BigQueryTask", "DatabricksTask", "HttpTask", "SnowflakeTask"]

_SCALARS = (int, float, str, bool)
_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def _scalar_inputs(where: str, inputs: Mapping[str, Any]) -> list[str]:
    return [
        f"{where}, input {name!r}: a query parameter is one of int, float, str, bool, not {type_repr(t)}"
        for name, t in inputs.items()
        if t not in _SCALARS
    ]


class HttpTask(PluginTask):
    """One HTTP request (``method`` to ``url``, with ``headers`` and a JSON ``body``), each of them
    templated; ``fields`` maps each output to a dotted path in the JSON answer (default: its name).
    The call answers at once: nothing is polled."""

    kind_label = "http task"

    def __init__(
        self,
        name: str,
        url: str,
        *,
        method: str = "GET",
        inputs: Mapping[str, Any] | None = None,
        outputs: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        body: Any = None,
        fields: Mapping[str, str] | None = None,
        **options: Any,
    ) -> None:
        where = f"{self.kind_label} {name!r}"
        given, declared = dict(inputs or {}), dict(outputs or {})
        spec = {
            "method": str(method).upper(),
            "url": url,
            "headers": dict(headers or {}),
            "body": body,
            "fields": {out: (fields or {}).get(out, out) for out in declared},
        }
        problems = []
        if spec["method"] not in _METHODS:
            problems.append(f"{where}: method {method!r} is not one of {', '.join(_METHODS)}")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            problems.append(f"{where}: url must be an http:// or https:// URL, not {url!r}")
        problems += [
            f"{where}: fields names {out!r}, which is not an output"
            for out in (fields or {})
            if out not in declared
        ]
        problems += placeholder_problems(where, [url, spec["headers"], body], given)
        super().__init__(name, "http", spec, inputs=given, outputs=declared, problems=problems, **options)


class _QueryTask(PluginTask):
    task_type = ""

    def __init__(
        self,
        name: str,
        query_template: str,
        settings: Mapping[str, Any],
        *,
        inputs: Mapping[str, Any] | None,
        outputs: Mapping[str, Any] | None,
        **options: Any,
    ) -> None:
        where = f"{self.kind_label} {name!r}"
        given = dict(inputs or {})
        problems = _scalar_inputs(where, given)
        if not isinstance(query_template, str) or not query_template.strip():
            problems.append(f"{where}: query_template must be non-empty SQL text")
        else:
            problems += placeholder_problems(where, query_template, given)
            if "{{" in PLACEHOLDER.sub("", query_template):
                problems.append(
                    f"{where}: a '{{{{' in the query is not a placeholder; write {{{{ .inputs.NAME }}}}"
                )
        super().__init__(
            name,
            self.task_type,
            {"query_template": query_template, **settings},
            inputs=given,
            outputs=dict(outputs or {}),
            problems=problems,
            **options,
        )


class BigQueryTask(_QueryTask):
    """A query job on BigQuery. Placeholders become named parameters (``@name``). An output takes
    the result's column of its name: a list output every row (all pages), a scalar the first row."""

    kind_label = "bigquery task"
    task_type = "bigquery"

    def __init__(
        self,
        name: str,
        query_template: str,
        *,
        inputs: Mapping[str, Any] | None = None,
        outputs: Mapping[str, Any] | None = None,
        project: str = "",
        location: str = "",
        **options: Any,
    ) -> None:
        super().__init__(
            name,
            query_template,
            {"project": project, "location": location},
            inputs=inputs,
            outputs=outputs,
            **options,
        )


class SnowflakeTask(_QueryTask):
    """A statement through Snowflake's SQL API. Placeholders become bindings (``?``). Outputs as
    BigQueryTask's."""

    kind_label = "snowflake task"
    task_type = "snowflake"

    def __init__(
        self,
        name: str,
        query_template: str,
        *,
        inputs: Mapping[str, Any] | None = None,
        outputs: Mapping[str, Any] | None = None,
        database: str = "",
        schema: str = "",
        warehouse: str = "",
        role: str = "",
        statement_timeout: int = 0,
        **options: Any,
    ) -> None:
        settings = {
            "database": database,
            "schema": schema,
            "warehouse": warehouse,
            "role": role,
            "timeout": statement_timeout,
        }
        super().__init__(name, query_template, settings, inputs=inputs, outputs=outputs, **options)


class DatabricksTask(PluginTask):
    """A run of the Databricks job ``job_id`` with templated ``job_parameters``. Its outputs are
    any of ``run_id: int``, ``run_page_url: str`` and ``result: str`` (the notebook's exit value)."""

    kind_label = "databricks task"

    def __init__(
        self,
        name: str,
        job_id: int,
        *,
        inputs: Mapping[str, Any] | None = None,
        outputs: Mapping[str, Any] | None = None,
        job_parameters: Mapping[str, Any] | None = None,
        **options: Any,
    ) -> None:
        from wingspan_webapi.connectors.databricks import OUTPUTS

        where = f"{self.kind_label} {name!r}"
        given, declared = dict(inputs or {}), dict(outputs or {})
        problems = [
            f"{where}: output {out!r} is not one a run gives ({', '.join(OUTPUTS)})"
            for out in declared
            if out not in OUTPUTS
        ]
        if not isinstance(job_id, int) or isinstance(job_id, bool) or job_id <= 0:
            problems.append(f"{where}: job_id must be the job's number, not {job_id!r}")
        problems += placeholder_problems(where, dict(job_parameters or {}), given)
        super().__init__(
            name,
            "databricks",
            {"job_id": job_id, "job_parameters": dict(job_parameters or {})},
            inputs=given,
            outputs=declared,
            problems=problems,
            **options,
        )
