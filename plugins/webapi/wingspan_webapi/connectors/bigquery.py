"""``bigquery``: a query job through the BigQuery REST API v2 (``jobs.insert``, ``jobs.get``,
``jobs.getQueryResults`` page by page, ``jobs.cancel``). The job id comes from the attempt, so a
second submission of one attempt is refused by BigQuery as a duplicate and the plugin follows
the job that exists."""

from __future__ import annotations

from typing import Any, ClassVar

from wingspan.plugin import ConfigError, TaskLog, TaskPhase
from wingspan_webapi._config import WebApiConfig
from wingspan_webapi._connector import Api, ApiError, Connector, Job, JobRequest, Resource
from wingspan_webapi._templating import bind_sql
from wingspan_webapi.connectors.columns import column_outputs, wants_rows

__all__ = ["BigQueryConnector"]

# BigQuery's type of a query parameter, by the Python type of the input's value
_PARAMETER_TYPES = {bool: "BOOL", int: "INT64", float: "FLOAT64", str: "STRING"}
# errorResult reasons a later attempt may not meet
_TRANSIENT = frozenset({"backendError", "internalError", "rateLimitExceeded", "resourcesExceeded"})


class BigQueryConnector(Connector):
    task_type: ClassVar[str] = "bigquery"
    service: ClassVar[str] = "BigQuery"

    def __init__(self, config: WebApiConfig) -> None:
        self.config = config

    def endpoint(self) -> tuple[str, dict[str, str]]:
        if not self.config.bigquery_project:
            raise ConfigError(
                "a bigquery task needs the project its jobs run in: set bigquery_project in "
                "[plugins.webapi] (or WINGSPAN_PLUGINS__WEBAPI__BIGQUERY_PROJECT)"
            )
        headers = (
            {"Authorization": f"Bearer {self.config.bigquery_token}"} if self.config.bigquery_token else {}
        )
        return self.config.bigquery_url, headers

    def _jobs(self, project: str) -> str:
        return f"/projects/{project}/jobs"

    async def create(self, api: Api, request: JobRequest) -> Resource:
        sql, names = bind_sql(str(request.spec["query_template"]), lambda name, _: f"@{name}")
        project = str(request.spec.get("project") or self.config.bigquery_project)
        location = str(request.spec.get("location") or self.config.bigquery_location)
        job_id = f"wingspan_{request.idempotency_key}"
        reference = {"projectId": project, "jobId": job_id, **({"location": location} if location else {})}
        query: dict[str, Any] = {"query": sql, "useLegacySql": False}
        if names:
            query["parameterMode"] = "NAMED"
            query["queryParameters"] = [
                _parameter(name, request.inputs[name]) for name in dict.fromkeys(names)
            ]
        body = {"jobReference": reference, "configuration": {"query": query, "labels": {"wingspan": "task"}}}
        try:
            answer = (await api.request("POST", self._jobs(project), json=body)).json()
        except ApiError as exc:
            if exc.code != "409":  # 409: this attempt's job exists already (submitted before a crash)
                raise
            answer = {"jobReference": reference}
        found = answer.get("jobReference") or reference
        return {
            "project": found.get("projectId", project),
            "job_id": found.get("jobId", job_id),
            "location": found.get("location", location),
        }

    def _params(self, resource: Resource) -> dict[str, str]:
        return {"location": resource["location"]} if resource.get("location") else {}

    async def get(self, api: Api, request: JobRequest, resource: Resource) -> Job:
        path = f"{self._jobs(resource['project'])}/{resource['job_id']}"
        job = (await api.request("GET", path, params=self._params(resource))).json()
        status = job.get("status") or {}
        if status.get("state") != "DONE":
            return Job(
                TaskPhase.RUNNING, message=f"BigQuery job {resource['job_id']}: {status.get('state', '?')}"
            )
        error = status.get("errorResult")
        if error:
            reason = str(error.get("reason", "error"))
            return Job(
                TaskPhase.FAILED,
                code=reason,
                retryable=reason in _TRANSIENT,
                user_error=reason not in _TRANSIENT,
                message=(
                    f"BigQuery job {resource['job_id']} failed with {reason}: {error.get('message', '')}"
                ),
            )
        return Job(TaskPhase.SUCCEEDED, outputs=await self._results(api, request, resource))

    async def _results(self, api: Api, request: JobRequest, resource: Resource) -> dict[str, Any]:
        if not request.outputs:
            return {}
        path = f"/projects/{resource['project']}/queries/{resource['job_id']}"
        names: list[str] = []
        rows: list[list[Any]] = []
        token = ""
        while True:
            params = {**self._params(resource), **({"pageToken": token} if token else {})}
            page = (await api.request("GET", path, params=params)).json()
            names = [f["name"] for f in (page.get("schema") or {}).get("fields") or ()] or names
            rows += [[cell.get("v") for cell in row.get("f") or ()] for row in page.get("rows") or ()]
            token = page.get("pageToken") or ""
            if not token or not wants_rows(request.outputs):
                break
        return column_outputs(
            f"{request.where}, BigQuery job {resource['job_id']}", request.outputs, names, rows
        )

    async def delete(self, api: Api, request: JobRequest, resource: Resource) -> None:
        path = f"{self._jobs(resource['project'])}/{resource['job_id']}/cancel"
        await api.request("POST", path, params=self._params(resource))

    def links(self, resource: Resource) -> tuple[TaskLog, ...]:
        return (
            TaskLog(
                f"BigQuery job {resource['job_id']}",
                f"https://console.cloud.google.com/bigquery?project={resource['project']}"
                f"&j=bq:{resource.get('location') or 'US'}:{resource['job_id']}&page=queryresults",
            ),
        )


def _parameter(name: str, value: Any) -> dict[str, Any]:
    kind = _PARAMETER_TYPES.get(type(value), "STRING")
    text = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return {"name": name, "parameterType": {"type": kind}, "parameterValue": {"value": text}}
