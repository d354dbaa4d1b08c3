"""The reads as GET routes shaped like Flyte's HTTP gateway: projects, executions (filters, sort,
keyset pages), node executions, and tasks, workflows and launch plans with their versions."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.integration.services import flows
from tests.integration.services.builders import (
    DOMAIN,
    PROJECT,
    ident,
    launch_plan_request,
    literals,
    task_request,
    workflow_request,
)
from wingspan.protos import v1
from wingspan.server.api.messages import encode_json
from wingspan.server.serve import ApiServer

JSON = {"content-type": "application/json"}
PLAN = "pipeline_plan"


async def _post(http: httpx.AsyncClient, method: str, message: Any) -> dict[str, Any]:
    response = await http.post(f"/api/v1/{method}", content=encode_json(message), headers=JSON)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture
async def http(api_server: ApiServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=api_server.http_url, timeout=30) as client:
        for task in (flows.add, flows.double):
            for version in ("v1", "v2"):
                await _post(client, "RegisterTask", task_request(task, version))
        await _post(client, "RegisterWorkflow", workflow_request(flows.pipeline, "v1"))
        await _post(client, "RegisterLaunchPlan", launch_plan_request(flows.pipeline_plan, "v1"))
        yield client


async def _executions(http: httpx.AsyncClient, count: int) -> list[str]:
    names = []
    for i in range(count):
        name = f"nightly-{i}" if i % 2 == 0 else f"adhoc-{i}"
        spec = v1.ExecutionSpec(entity_id=ident(2, flows.pipeline.name, "v1"), inputs=literals(x=i))
        await _post(http, "CreateExecution", v1.CreateExecutionRequest(
            project=PROJECT, domain=DOMAIN, name=name, spec=spec))
        names.append(name)
    return names


async def test_curl_api_v1_projects_lists_the_projects(
        http: httpx.AsyncClient) -> None:
    response = await http.get("/api/v1/projects")
    assert response.status_code == 200, response.text
    assert [p["id"] for p in response.json()["projects"]] == ["default"]
    domains = (await http.get("/api/v1/domains")).json()["domains"]
    assert "development" in [d["id"] for d in domains]


async def test_executions_page_by_keyset_tokens_newest_first(
        http: httpx.AsyncClient) -> None:
    created = await _executions(http, 5)
    seen, token = [], ""
    while True:
        params = {"limit": "2", **({"token": token} if token else {})}
        page = (await http.get(f"/api/v1/executions/{PROJECT}/{DOMAIN}", params=params)).json()
        seen += [e["id"]["name"] for e in page["executions"]]
        token = page.get("nextToken", "")
        if not token:
            break
    assert seen == list(reversed(created))


async def test_executions_filter_by_name_prefix_phase_workflow_and_time_and_sort(
        http: httpx.AsyncClient) -> None:
    await _executions(http, 5)
    url = f"/api/v1/executions/{PROJECT}/{DOMAIN}"

    async def names(**params: Any) -> list[str]:
        response = await http.get(url, params=params)
        assert response.status_code == 200, response.text
        return [e["id"]["name"] for e in response.json().get("executions", [])]

    nightly = await names(name_prefix="nightly", order="asc", sort_by="name")
    assert nightly == ["nightly-0", "nightly-2", "nightly-4"]
    assert await names(phase="queued", name_prefix="adhoc") == ["adhoc-3", "adhoc-1"]
    assert await names(phase=["succeeded", "failed"]) == []
    assert await names(workflow=flows.pipeline.name, limit=1) == ["nightly-4"]
    assert await names(created_after="2999-01-01T00:00:00Z") == []
    assert len(await names(created_before="2999-01-01T00:00:00Z")) == 5
    assert await names(principal="nobody-at-all") == []


async def test_one_execution_its_data_and_its_nodes(
        http: httpx.AsyncClient) -> None:
    await _executions(http, 1)
    base = f"{PROJECT}/{DOMAIN}/nightly-0"
    one = (await http.get(f"/api/v1/executions/{base}")).json()
    assert one["id"]["name"] == "nightly-0"
    data = (await http.get(f"/api/v1/data/executions/{base}")).json()
    assert "x" in data["inputs"]["literals"]
    nodes = await http.get(f"/api/v1/node_executions/{base}", params={"phase": "running"})
    assert nodes.status_code == 200 and nodes.json().get("nodeExecutions", []) == []
    missing = await http.get(f"/api/v1/executions/{PROJECT}/{DOMAIN}/nope")
    assert (missing.status_code, missing.json()["code"]) == (404, "NOT_FOUND")


async def test_tasks_by_name_then_versions_then_one_version(
        http: httpx.AsyncClient) -> None:
    ids = f"/api/v1/task_ids/{PROJECT}/{DOMAIN}"
    names = await http.get(ids)  # by name
    assert [e["id"]["name"] for e in names.json()["entities"]] == [flows.add.name, flows.double.name]
    prefixed = await http.get(ids, params={"name_prefix": flows.double.name})
    assert [e["id"]["name"] for e in prefixed.json()["entities"]] == [flows.double.name]
    versions = (await http.get(f"/api/v1/tasks/{PROJECT}/{DOMAIN}/{flows.add.name}")).json()["tasks"]
    assert [t["id"]["version"] for t in versions] == ["v2", "v1"]
    one = (await http.get(f"/api/v1/tasks/{PROJECT}/{DOMAIN}/{flows.add.name}/v1")).json()
    assert one["id"]["version"] == "v1"
    workflows = (await http.get(f"/api/v1/workflows/{PROJECT}/{DOMAIN}")).json()["workflows"]
    assert [w["id"]["name"] for w in workflows] == [flows.pipeline.name]
    plans = await http.get(f"/api/v1/launch_plans/{PROJECT}/{DOMAIN}/{PLAN}", params={"state": "inactive"})
    assert [p["id"]["version"] for p in plans.json()["launchPlans"]] == ["v1"]
    active = await http.get(f"/api/v1/launch_plans/{PROJECT}/{DOMAIN}/{PLAN}", params={"state": "active"})
    assert active.json().get("launchPlans", []) == []


@pytest.mark.parametrize(("path", "params", "says"), [
    ("/api/v1/executions/default/development", {"colour": "red"}, "takes no query parameter 'colour'"),
    ("/api/v1/executions/default/development", {"phase": "sleepy"}, "valid values"),
    ("/api/v1/executions/default/development", {"limit": "0"}, "whole number from 1 to 1000"),
    ("/api/v1/executions/default/development", {"limit": ["1", "2"]}, "given 2 times"),
    ("/api/v1/executions/default/development", {"token": "garbage"}, "invalid page token"),
    ("/api/v1/executions/default/development", {"sort_by": "colour"}, "cannot sort by 'colour'"),
    ("/api/v1/task_ids/default/development", {"sort_by": "name"}, "takes no query parameter 'sort_by'"),
    ("/api/v1/executions/default/development", {"order": "up"}, "give asc or desc"),
    ("/api/v1/executions/default/development", {"created_after": "yesterday"}, "not an RFC 3339 time"),
    ("/api/v1/executions/bad%20name/development", {}, "project"),
])
async def test_bad_queries_get_400_naming_what_was_wrong(
        http: httpx.AsyncClient, path: str, params: dict[str, Any], says: str) -> None:
    response = await http.get(path, params=params)
    assert response.status_code == 400, response.text
    assert says in response.json()["message"]


async def test_the_openapi_document_lists_the_get_routes_with_their_parameters(
        http: httpx.AsyncClient) -> None:
    document = (await http.get("/schema/openapi.json")).json()
    listing = document["paths"]["/api/v1/executions/{project}/{domain}"]["get"]
    names = {p["name"] for p in listing["parameters"]}
    assert {"project", "domain", "limit", "token", "phase", "name_prefix", "launch_plan", "principal",
            "created_after", "created_before", "sort_by", "order"} <= names
    assert "/api/v1/projects" in document["paths"]
    assert "/api/v1/tasks/{project}/{domain}/{name}/{version}" in document["paths"]
