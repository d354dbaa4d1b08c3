"""A stranger's reads: every ``GET /api/v1/...`` route, the console's pages and live streams, and
the audit log, tried by callers who hold no role where they ask (issue #18, probed from outside).

olga is an admin of another project only, vic a viewer of default/development only; neither may
learn anything of what they hold no role in, on any route, and a refusal names no data.
"""

from __future__ import annotations

import re

import httpx
import pytest

from tests.integration.services import flows as workflows
from tests.integration.services.builders import ident, literals, workflow_request
from tests.unit.api.transports import CallError
from tests.unit.auth.conftest import DOMAIN, PROJECT
from tests.unit.auth.test_auth_served import clients, token_of
from wingspan.core.model import codec
from wingspan.protos import v1
from wingspan.server.api.resources import RESOURCES
from wingspan.server.serve import ApiServer

RUN = "secret-run-0001"  # an execution name no refusal may repeat
VERSION = "v-abuse"
WORKFLOW = workflows.pipeline


async def _an_execution_of_alice(server: ApiServer) -> None:
    alice = clients(server, await token_of(server, "alice"))[1]
    try:
        for compiled in WORKFLOW.closure.tasks:
            template = compiled.template
            assert template is not None and template.id is not None
            await alice.call("RegisterTask", v1.RegisterTaskRequest(
                id=ident(1, template.id.name, VERSION), template=codec.to_proto(template)))
        await alice.call("RegisterWorkflow", workflow_request(WORKFLOW, VERSION))
        spec = v1.ExecutionSpec(entity_id=ident(2, WORKFLOW.name, VERSION), inputs=literals(x=1))
        await alice.call("CreateExecution", v1.CreateExecutionRequest(
            project=PROJECT, domain=DOMAIN, name=RUN, spec=spec))
    finally:
        await alice.aclose()


def _paths(domain: str) -> list[str]:
    """Every GET route of a project and domain, filled with names that exist in default/development."""
    names = {"project": PROJECT, "domain": domain, "version": VERSION}
    found = []
    for resource in RESOURCES:
        if "{project}" not in resource.path:
            continue
        name = RUN if "executions" in resource.path else WORKFLOW.name
        found.append(resource.path.format(**names, name=name))
    return found


async def test_no_get_route_answers_a_caller_without_a_role_in_its_project(secured: ApiServer) -> None:
    await _an_execution_of_alice(secured)
    olga, vic = await token_of(secured, "olga"), await token_of(secured, "vic")
    async with httpx.AsyncClient(base_url=secured.http_url, timeout=30) as http:
        for path in _paths(DOMAIN):
            anonymous = await http.get(path)
            assert anonymous.status_code == 401, (path, anonymous.text)
            as_olga = await http.get(path, headers={"authorization": f"Bearer {olga}"})
            assert as_olga.status_code == 403, (path, as_olga.text)
            assert "olga holds no role there" in as_olga.text, path
            assert RUN not in as_olga.text or path.endswith(RUN), path  # the asked path is echoed at most
            assert "alice" not in as_olga.text, path
            # the viewer of that project and domain is let through (to what exists there)
            as_vic = await http.get(path, headers={"authorization": f"Bearer {vic}"})
            assert as_vic.status_code in (200, 404), (path, as_vic.text)
        for path in _paths("staging"):  # vic's role is in development only
            as_vic = await http.get(path, headers={"authorization": f"Bearer {vic}"})
            assert as_vic.status_code == 403, (path, as_vic.text)
        # the deployment-wide lists need a login, and show olga the projects, never their executions
        for path in ("/api/v1/projects", "/api/v1/domains"):
            assert (await http.get(path)).status_code == 401, path
            assert (await http.get(path, headers={"authorization": f"Bearer {olga}"})).status_code == 200


async def test_the_console_shows_a_caller_nothing_of_a_project_it_holds_no_role_in(
        secured: ApiServer) -> None:
    await _an_execution_of_alice(secured)
    olga = {"authorization": f"Bearer {await token_of(secured, 'olga')}"}
    base = f"/console/projects/{PROJECT}/domains/{DOMAIN}"
    pages = [f"{base}/executions", f"{base}/executions/{RUN}", f"{base}/executions/{RUN}/nodes/n0",
             f"{base}/workflows", f"{base}/workflows/{WORKFLOW.name}",
             f"{base}/workflows/{WORKFLOW.name}/{VERSION}",
             f"{base}/executions/{RUN}/report?node=n0&attempt=0"]
    async with httpx.AsyncClient(base_url=secured.http_url, timeout=30) as http:
        for page in pages:
            answer = await http.get(page, headers=olga)
            assert answer.status_code == 403, (page, answer.status_code)
            assert "alice" not in answer.text and WORKFLOW.name + "." not in answer.text, page
        # the live streams end at once with the refusal, and carry no rows or phases
        for stream in (f"{base}/live/executions", f"{base}/executions/{RUN}/live",
                       f"{base}/executions/{RUN}/log?node=n0&attempt=0&offset=0"):
            async with http.stream("GET", stream, headers=olga) as response:
                body = (await response.aread()).decode()
            events = re.findall(r"^event: (\w+)", body, flags=re.M)
            assert events == ["end"], (stream, body)
            assert "PERMISSION_DENIED" in body and "alice" not in body and RUN + "</" not in body


async def test_only_admins_read_the_audit_log_and_a_project_admin_only_their_project(
        secured: ApiServer) -> None:
    await _an_execution_of_alice(secured)
    tokens = {name: await token_of(secured, name) for name in ("ada", "alice", "vic", "olga")}
    for transport in range(2):
        callers = {name: clients(secured, token)[transport] for name, token in tokens.items()}
        try:
            for name in ("alice", "vic", "olga"):
                for project in ("", PROJECT):
                    asked = v1.ListAuditEventsRequest(project=project)
                    with pytest.raises(CallError) as refused:
                        await callers[name].call("ListAuditEvents", asked)
                    assert refused.value.code == "PERMISSION_DENIED", (name, project)
                    assert "CreateExecution" not in refused.value.message
            # olga administers "other": its audit log is hers to read, and holds nothing of default
            mine = await callers["olga"].call("ListAuditEvents", v1.ListAuditEventsRequest(project="other"))
            assert all(event.project == "other" for event in mine.events)
            everything = await callers["ada"].call("ListAuditEvents", v1.ListAuditEventsRequest())
            assert "CreateExecution" in {event.method for event in everything.events}
        finally:
            for client in callers.values():
                await client.aclose()
