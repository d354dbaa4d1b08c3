"""``databricks``: a run of a Databricks job through the Jobs API 2.1 (``jobs/run-now`` with
the attempt's idempotency token, ``jobs/runs/get``, ``jobs/runs/get-output`` for the notebook's
result and the logs, ``jobs/runs/cancel``)."""

from __future__ import annotations

import json
from typing import Any, ClassVar

from wingspan.plugin import ConfigError, TaskLog, TaskPhase
from wingspan_webapi._config import WebApiConfig
from wingspan_webapi._connector import Api, Connector, Job, JobRequest, Resource
from wingspan_webapi._templating import fill

__all__ = ["OUTPUTS", "DatabricksConnector"]

RUNS = "/api/2.1/jobs/runs"
#: what a databricks task may return, by output name
OUTPUTS = ("run_id", "run_page_url", "result")
_ENDED = ("TERMINATED", "SKIPPED", "INTERNAL_ERROR")


class DatabricksConnector(Connector):
    task_type: ClassVar[str] = "databricks"
    service: ClassVar[str] = "Databricks"

    def __init__(self, config: WebApiConfig) -> None:
        self.config = config

    def endpoint(self) -> tuple[str, dict[str, str]]:
        if not self.config.databricks_url or not self.config.databricks_token:
            raise ConfigError(
                "a databricks task needs the workspace's URL and a token: set databricks_url and "
                "databricks_token in [plugins.webapi] (or WINGSPAN_PLUGINS__WEBAPI__DATABRICKS_URL, "
                "..._DATABRICKS_TOKEN)"
            )
        return self.config.databricks_url, {"Authorization": f"Bearer {self.config.databricks_token}"}

    async def create(self, api: Api, request: JobRequest) -> Resource:
        body: dict[str, Any] = {
            "job_id": int(request.spec["job_id"]),
            "idempotency_token": request.idempotency_key,
        }
        parameters = fill(request.spec.get("job_parameters") or {}, request.inputs)
        if parameters:  # job parameters are text
            body["job_parameters"] = {
                k: v if isinstance(v, str) else json.dumps(v) for k, v in parameters.items()
            }
        answer = (await api.request("POST", "/api/2.1/jobs/run-now", json=body)).json()
        return {"job_id": body["job_id"], "run_id": int(answer["run_id"])}

    async def get(self, api: Api, request: JobRequest, resource: Resource) -> Job:
        run = (await api.request("GET", f"{RUNS}/get", params={"run_id": str(resource["run_id"])})).json()
        state = run.get("state") or {}
        life = state.get("life_cycle_state", "")
        if life not in _ENDED:
            return Job(TaskPhase.RUNNING, message=f"Databricks run {resource['run_id']}: {life}")
        result = state.get("result_state", "")
        if life != "TERMINATED" or result != "SUCCESS":
            code = result or life
            return Job(
                TaskPhase.FAILED,
                code=code,
                retryable=life == "INTERNAL_ERROR",
                user_error=life != "INTERNAL_ERROR",
                message=f"Databricks run {resource['run_id']} of job {resource['job_id']} ended {life}"
                f"{'/' + result if result else ''}: {state.get('state_message', '')}",
            )
        outputs: dict[str, Any] = {
            "run_id": int(resource["run_id"]),
            "run_page_url": run.get("run_page_url", ""),
        }
        if any(v.name == "result" for v in request.outputs):
            output = await self._output(api, run)
            outputs["result"] = (output.get("notebook_output") or {}).get("result", "")
        return Job(TaskPhase.SUCCEEDED, outputs=outputs)

    async def _output(self, api: Api, run: dict[str, Any]) -> dict[str, Any]:
        # get-output takes a task's run: a job of several tasks answers for its last one
        tasks = run.get("tasks") or ()
        run_id = tasks[-1]["run_id"] if tasks else run["run_id"]
        answer: dict[str, Any] = (
            await api.request("GET", f"{RUNS}/get-output", params={"run_id": str(run_id)})
        ).json()
        return answer

    async def delete(self, api: Api, request: JobRequest, resource: Resource) -> None:
        await api.request("POST", f"{RUNS}/cancel", json={"run_id": int(resource["run_id"])})

    async def logs(self, api: Api, resource: Resource) -> bytes:
        run = (await api.request("GET", f"{RUNS}/get", params={"run_id": str(resource["run_id"])})).json()
        output = await self._output(api, run)
        text = "\n".join(
            part for part in (output.get("logs"), output.get("error"), output.get("error_trace")) if part
        )
        return text.encode()

    def links(self, resource: Resource) -> tuple[TaskLog, ...]:
        base = self.config.databricks_url.rstrip("/")
        return (
            TaskLog(
                f"Databricks run {resource['run_id']}",
                f"{base}/#job/{resource['job_id']}/run/{resource['run_id']}",
            ),
        )
