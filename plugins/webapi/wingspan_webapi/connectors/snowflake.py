"""``snowflake``: a statement through the Snowflake SQL API v2, submitted asynchronously
(``POST /api/v2/statements?async=true``), looked at by its handle (202 running, 200 its result
set, 422 failed), its further partitions read with ``?partition=N``, cancelled with
``POST .../cancel``. The request id comes from the attempt, so Snowflake runs one attempt's
statement once even when it is submitted twice."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from wingspan.plugin import ConfigError, TaskPhase
from wingspan_webapi._config import WebApiConfig
from wingspan_webapi._connector import Api, ApiError, Connector, Job, JobRequest, Resource
from wingspan_webapi._templating import bind_sql
from wingspan_webapi.connectors.columns import column_outputs, wants_rows

__all__ = ["SnowflakeConnector"]

STATEMENTS = "/api/v2/statements"
# the SQL API's binding type of an input, by the Python type of its value
_BINDING_TYPES = {bool: "BOOLEAN", int: "FIXED", float: "REAL", str: "TEXT"}
_RUNNING = ("333333", "333334")  # "in progress" codes of a 202 answer


class SnowflakeConnector(Connector):
    task_type: ClassVar[str] = "snowflake"
    service: ClassVar[str] = "Snowflake"

    def __init__(self, config: WebApiConfig) -> None:
        self.config = config

    def endpoint(self) -> tuple[str, dict[str, str]]:
        if not self.config.snowflake_url or not self.config.snowflake_token:
            raise ConfigError(
                "a snowflake task needs the account's URL and a token: set snowflake_url and "
                "snowflake_token in [plugins.webapi] (or WINGSPAN_PLUGINS__WEBAPI__SNOWFLAKE_URL, "
                "..._SNOWFLAKE_TOKEN)"
            )
        return self.config.snowflake_url, {
            "Authorization": f"Bearer {self.config.snowflake_token}",
            "X-Snowflake-Authorization-Token-Type": self.config.snowflake_token_type,
            "Accept": "application/json",
            "User-Agent": "wingspan-webapi/0.1",
        }

    async def create(self, api: Api, request: JobRequest) -> Resource:
        sql, names = bind_sql(str(request.spec["query_template"]), lambda name, _: "?")
        body: dict[str, Any] = {"statement": sql}
        for key in ("database", "schema", "warehouse", "role"):
            value = request.spec.get(key) or getattr(self.config, f"snowflake_{key}", "")
            if value:
                body[key] = value
        if request.spec.get("timeout"):
            body["timeout"] = int(request.spec["timeout"])
        if names:
            body["bindings"] = {str(i + 1): _binding(request.inputs[name]) for i, name in enumerate(names)}
        request_id = str(uuid.UUID(request.idempotency_key))
        answer = (
            await api.request(
                "POST", STATEMENTS, json=body, params={"requestId": request_id, "async": "true"}
            )
        ).json()
        return {"handle": answer["statementHandle"]}

    async def get(self, api: Api, request: JobRequest, resource: Resource) -> Job:
        path = f"{STATEMENTS}/{resource['handle']}"
        try:
            response = await api.request("GET", path)
        except ApiError as exc:
            if exc.code != "422" or not isinstance(exc.answer, dict):
                raise
            failure = exc.answer
            return Job(
                TaskPhase.FAILED,
                code=str(failure.get("code", "422")),
                message=(
                    f"Snowflake statement {resource['handle']} failed with {failure.get('code', '?')} "
                    f"(SQL state {failure.get('sqlState', '?')}): {failure.get('message', '')}"
                ),
            )
        answer = response.json()
        if response.status_code == 202 or answer.get("code") in _RUNNING:
            return Job(
                TaskPhase.RUNNING,
                message=f"Snowflake statement {resource['handle']}: {answer.get('message', 'running')}",
            )
        return Job(TaskPhase.SUCCEEDED, outputs=await self._results(api, request, resource, answer))

    async def _results(
        self, api: Api, request: JobRequest, resource: Resource, first: dict[str, Any]
    ) -> dict[str, Any]:
        if not request.outputs:
            return {}
        meta = first.get("resultSetMetaData") or {}
        names = [column["name"] for column in meta.get("rowType") or ()]
        rows: list[list[Any]] = list(first.get("data") or ())
        partitions = len(meta.get("partitionInfo") or ())
        if wants_rows(request.outputs):
            for partition in range(1, partitions):
                page = await api.request(
                    "GET", f"{STATEMENTS}/{resource['handle']}", params={"partition": str(partition)}
                )
                rows += page.json().get("data") or ()
        return column_outputs(
            f"{request.where}, Snowflake statement {resource['handle']}", request.outputs, names, rows
        )

    async def delete(self, api: Api, request: JobRequest, resource: Resource) -> None:
        await api.request("POST", f"{STATEMENTS}/{resource['handle']}/cancel")


def _binding(value: Any) -> dict[str, str]:
    text = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return {"type": _BINDING_TYPES.get(type(value), "TEXT"), "value": text}
