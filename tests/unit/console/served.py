"""A server with its engine, and the console tests' entities registered through the HTTP API."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx

from tests.integration.services.builders import launch_plan_request, task_request, workflow_request
from tests.unit.console import flows
from wingspan.protos import v1
from wingspan.server.api.messages import encode_json

PROJECT, DOMAIN = "default", "development"
BASE = f"/console/projects/{PROJECT}/domains/{DOMAIN}"
JSON = {"content-type": "application/json"}
TERMINAL = {"succeeded", "failed", "aborted", "timed_out", "skipped"}


async def post(http: httpx.AsyncClient, method: str, message: Any) -> dict[str, Any]:
    response = await http.post(f"/api/v1/{method}", content=encode_json(message), headers=JSON)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def register(http: httpx.AsyncClient) -> None:
    for task in (flows.add, flows.paint, flows.reported, flows.double, flows.flaky, flows.talks,
                 flows.describe, flows.measure, flows.held, flows.doubles,
                 flows.weigh, flows.inventory):
        await post(http, "RegisterTask", task_request(task, "v1"))
    for wf in (flows.chain, flows.reviewed, flows.asks, flows.reporting, flows.retried, flows.talking,
               flows.held_map, flows.fanned, flows.inner_chain, flows.nested):
        await post(http, "RegisterWorkflow", workflow_request(wf, "v1"))
    for plan in (flows.chain_plan, flows.nightly):
        await post(http, "RegisterLaunchPlan", launch_plan_request(plan, "v1"))


async def launch(http: httpx.AsyncClient, kind: str, name: str, fields: dict[str, str]) -> httpx.Response:
    return await http.post(f"{BASE}/{kind}/{name}/v1/launch", content=json.dumps(fields), headers=JSON)


async def phases_until(http: httpx.AsyncClient, execution: str, wanted: set[str], *, within: float = 60,
                       kind: str = "execution") -> str:
    """Follows the execution's live stream until its phase (``kind`` "node": any top-level node's) is
    one of ``wanted``; returns that phase."""
    async def follow() -> str:
        # a long quiet spell (a map of thousands runs with no top-level event) is no read timeout
        async with http.stream("GET", f"{BASE}/executions/{execution}/live", timeout=within) as stream:
            event = ""
            async for line in stream.aiter_lines():
                if line.startswith("event:"):
                    event = line.split(":", 1)[1].strip()
                elif line.startswith("data:") and event == kind:
                    phase = str(json.loads(line.split(":", 1)[1])["phase"])
                    if phase in wanted:
                        return phase
        raise AssertionError(f"the live stream of {execution} ended before any of {sorted(wanted)}")

    return await asyncio.wait_for(follow(), within)


def execution_id(name: str) -> v1.ExecutionId:
    return v1.ExecutionId(project=PROJECT, domain=DOMAIN, name=name)
