"""The console over HTTP against a live server with its engine: every page, the launch form's
field errors, the actions it offers, the live stream, and that it loads nothing from outside."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncGenerator
from pathlib import Path

import httpx

from tests.integration.services.builders import literals
from tests.unit.console import flows
from tests.unit.console.served import (
    BASE,
    JSON,
    PROJECT,
    TERMINAL,
    execution_id,
    launch,
    phases_until,
    post,
)
from wingspan.protos import v1
from wingspan.server.console import pages as console_pages
from wingspan.server.serve import ApiServer
from wingspan.server.services.notifications import console_link

CONSOLE_FILES = Path(console_pages.__file__).parent


async def test_the_root_redirects_to_the_console_and_the_dashboard_counts_phases(
        http: httpx.AsyncClient) -> None:
    root = await http.get("/")
    assert root.status_code in (301, 302, 307, 308) and root.headers["location"] == "/console"
    made = await launch(http, "launch_plans", "chain_plan", {"x": "2"})
    assert await phases_until(http, made.json()["url"].rsplit("/", 1)[1], TERMINAL) == "succeeded"
    page = await http.get("/console")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "default / development" in page.text
    assert re.search(r'class="badge phase-succeeded">succeeded 1<', page.text)


async def test_the_notification_link_opens_the_execution_page_with_graph_nodes_and_outputs(
        server: ApiServer, http: httpx.AsyncClient) -> None:
    made = await launch(http, "launch_plans", "chain_plan", {"x": "2"})
    name = made.json()["url"].rsplit("/", 1)[1]
    assert await phases_until(http, name, TERMINAL) == "succeeded"
    link = console_link(server.http_url, f"{PROJECT}/development/{name}")
    page = await http.get(link)
    assert page.status_code == 200, page.text
    assert made.json()["url"] == link.removeprefix(server.http_url)
    html = page.text
    assert 'id="phase" class="badge phase-succeeded"' in html
    assert html.count('<g class="node phase-succeeded"') == 3  # the DAG, every node coloured
    assert html.count('<path class="edge"') == 2
    assert "<dt>o0</dt><dd><pre>15</pre>" in html  # (2 + 10) + (2 + 1)
    assert html.count('<tr data-node="') == 3
    assert html.count("<td>add</td>") == 3  # each node named by its task, as in the graph


async def test_the_executions_list_filters_and_sorts(
        http: httpx.AsyncClient) -> None:
    plan = v1.Identifier(resource_type=v1.ResourceType.LAUNCH_PLAN, name="chain_plan", version="v1")
    for name in ("nightly-a", "nightly-b", "adhoc-c"):
        await post(http, "CreateExecution", v1.CreateExecutionRequest(
            project=PROJECT, domain="development", name=name,
            spec=v1.ExecutionSpec(entity_id=plan, inputs=literals(x=1))))
    listed = await http.get(f"{BASE}/executions", params={"name_prefix": "nightly", "sort_by": "name",
                                                          "order": "asc"})
    rows = re.findall(r'<tr data-execution="([^"]+)"', listed.text)
    assert rows == ["nightly-a", "nightly-b"]
    wrong = await http.get(f"{BASE}/executions", params={"phase": "sleepy"})
    assert wrong.status_code == 400 and "valid values" in wrong.text


async def test_the_launch_form_shows_an_error_per_field_and_launches_typed_inputs(
        http: httpx.AsyncClient) -> None:
    page = await http.get(f"{BASE}/tasks/{flows.paint.name}")
    assert page.status_code == 200
    assert "<option >RED</option><option >GREEN</option>" in page.text  # an enum: a choice of its values
    assert 'name="tags"' in page.text and 'placeholder="JSON"' in page.text
    wrong = await launch(http, "tasks", flows.paint.name,
                         {"colour": "blue", "times": "two", "tags": "[1, 2]", "loud": "maybe"})
    assert wrong.status_code == 400
    fields = wrong.json()["fields"]
    assert set(fields) == {"colour", "times", "tags", "loud"}
    assert "not one of" in fields["colour"] and "not a whole number" in fields["times"]
    missing = await launch(http, "tasks", flows.paint.name, {"colour": "RED"})
    assert missing.json()["fields"] == {name: "required: give a value" for name in ("times", "tags", "loud")}
    made = await launch(http, "tasks", flows.paint.name,
                        {"colour": "GREEN", "times": "2", "tags": '["a", "b"]', "loud": "true"})
    assert made.status_code == 200, made.text
    name = made.json()["url"].rsplit("/", 1)[1]
    assert await phases_until(http, name, TERMINAL) == "succeeded"
    page = await http.get(made.json()["url"])
    assert "A,BA,BGREEN" in page.text


async def test_a_launch_plan_page_shows_schedule_state_and_versions(
        http: httpx.AsyncClient) -> None:
    page = await http.get(f"{BASE}/launch_plans/nightly")
    assert page.status_code == 200
    assert "cron <code>0 3 * * *</code>" in page.text
    assert 'id="lp-state" class="badge state-inactive">inactive<' in page.text
    await post(http, "UpdateLaunchPlanState", v1.UpdateLaunchPlanStateRequest(
        id=v1.Identifier(resource_type=v1.ResourceType.LAUNCH_PLAN, project=PROJECT, domain="development",
                         name="nightly", version="v1"), state=v1.LaunchPlanState.ACTIVE))
    page = await http.get(f"{BASE}/launch_plans/nightly")
    assert 'class="badge state-active">active<' in page.text and "Deactivate" in page.text
    names = await http.get(f"{BASE}/launch_plans")
    assert ">chain_plan<" in names.text and ">nightly<" in names.text


async def test_approving_a_gate_from_the_console_lets_the_execution_finish(
        http: httpx.AsyncClient) -> None:
    made = await launch(http, "workflows", flows.reviewed.name, {"x": "1"})
    name = made.json()["url"].rsplit("/", 1)[1]
    await phases_until(http, name, {"waiting"}, kind="node")  # the engine reached the gate
    page = (await http.get(made.json()["url"])).text
    assert 'data-action="approve" data-signal="review"' in page
    bad = await http.post("/console/signal", json={"id": {"executionId": execution_id(name).to_dict(),
                                                          "signalId": "review"}, "value": "yes"})
    assert bad.status_code == 400 and "review" in bad.json()["message"]
    given = await http.post("/console/signal", json={"id": {"executionId": execution_id(name).to_dict(),
                                                            "signalId": "review"}, "value": True},
                            headers=JSON)
    assert given.status_code == 200, given.text
    assert await phases_until(http, name, TERMINAL) == "succeeded"


async def test_a_missing_execution_gets_a_404_page_saying_so(
        http: httpx.AsyncClient) -> None:
    page = await http.get(f"{BASE}/executions/nope")
    assert page.status_code == 404 and "nope" in page.text and "<h1>NOT_FOUND</h1>" in page.text


async def test_the_console_loads_nothing_from_outside_the_server(
        http: httpx.AsyncClient) -> None:
    page = await http.get("/console")
    policy = page.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy
    for file in CONSOLE_FILES.iterdir():
        if file.suffix in (".html", ".js", ".css"):
            assert not re.search(r"(https?:)?//[a-z0-9]", file.read_text()), file.name
    script = await http.get("/console/static/console.js")
    assert script.status_code == 200 and "X-CSRF-Token" in script.text
    assert script.headers["cache-control"] == "no-cache"


async def test_a_page_links_its_script_and_style_by_digest_so_the_browser_keeps_them(
        http: httpx.AsyncClient) -> None:
    page = (await http.get("/console")).text
    links = re.findall(r'(?:src|href)="(/console/static/console\.(?:js|css)\?v=[0-9a-f]{16})"', page)
    assert len(links) == 2, page
    for link in links:
        kept = await http.get(link)
        assert kept.status_code == 200
        assert kept.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert kept.content == (CONSOLE_FILES / link.split("?")[0].rsplit("/", 1)[1]).read_bytes()
    stale = await http.get(links[0].split("=")[0] + "=0000000000000000")
    assert stale.headers["cache-control"] == "no-cache"


async def test_the_executions_list_sends_its_rows_again_when_an_execution_arrives(
        http: httpx.AsyncClient) -> None:
    page = await http.get(f"{BASE}/executions", params={"name_prefix": "live-"})
    live = re.search(r'data-live="([^"]+)"', page.text)
    assert live is not None
    url = live.group(1).replace("&amp;", "&")
    plan = v1.Identifier(resource_type=v1.ResourceType.LAUNCH_PLAN, name="chain_plan", version="v1")

    async def rows() -> AsyncGenerator[str]:
        async with http.stream("GET", url) as stream:
            event, data = "", []
            async for line in stream.aiter_lines():
                if line.startswith("event:"):
                    event = line.split(":", 1)[1].strip()
                elif line.startswith("data:"):
                    data.append(line[5:].removeprefix(" "))
                elif not line and event == "rows":
                    yield "\n".join(data)
                    event, data = "", []

    async with asyncio.timeout(60):
        updates = rows()
        first = await anext(updates)
        assert "no executions match" in first
        await post(http, "CreateExecution", v1.CreateExecutionRequest(
            project=PROJECT, domain="development", name="live-1",
            spec=v1.ExecutionSpec(entity_id=plan, inputs=literals(x=1))))
        second = await anext(updates)
        assert 'data-execution="live-1"' in second
        await updates.aclose()
    ended = await phases_until(http, "live-1", TERMINAL)  # nothing left running
    assert ended == "succeeded", (await http.get(f"/api/v1/executions/{PROJECT}/development/live-1")).text
    later = await http.get(f"{BASE}/executions", params={"name_prefix": "live-", "limit": "1", "token": "x"})
    assert later.status_code == 400  # a bad token: the page says so rather than listing everything


async def test_a_node_page_shows_attempts_logs_children_and_a_sandboxed_report(
        http: httpx.AsyncClient) -> None:
    made = await launch(http, "workflows", flows.reporting.name, {"x": "3", "items": "[1, 2]"})
    name = made.json()["url"].rsplit("/", 1)[1]
    assert await phases_until(http, name, TERMINAL) == "succeeded"
    execution = (await http.get(made.json()["url"])).text
    nodes = re.findall(r'<tr data-node="([^"]+)">', execution)  # the top-level ones (not a child)
    assert len(nodes) == 2
    single, mapped = nodes
    page = await http.get(f"{BASE}/executions/{name}/nodes/{single}")
    assert page.status_code == 200, page.text
    assert "reporting on 3" in page.text  # the attempt's log
    assert '<tr data-attempt="0">' in page.text
    frame = re.search(r'<iframe class="report"[^>]*sandbox="allow-scripts"\s+src="([^"]+)"', page.text)
    assert frame is not None
    report = await http.get(frame.group(1).replace("&amp;", "&"))
    assert report.status_code == 200 and "x is 3" in report.text
    policy = report.headers["content-security-policy"]
    assert policy.startswith("sandbox allow-scripts;") and "allow-same-origin" not in policy
    assert "default-src 'none'" in policy
    children = await http.get(f"{BASE}/executions/{name}/nodes/{mapped}")
    assert children.status_code == 200
    assert len(re.findall(r'<tr data-node="', children.text)) == 2  # the map's two items
    item = await http.get(f"{BASE}/executions/{name}/nodes/{mapped}/0")
    assert item.status_code == 200 and "reporting on 1" in item.text
    missing = await http.get(f"{BASE}/executions/{name}/report", params={"node": single, "attempt": "7"})
    assert missing.status_code == 404 and "has no report" in missing.text
