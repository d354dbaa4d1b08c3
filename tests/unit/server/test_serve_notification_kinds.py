"""Through `wingspan serve`: a launch plan's PagerDuty notification reaches a loopback receiver
that checks PagerDuty's published Events API v2 shape, its message templated with a link to the
execution's page in the server's console; a notification of a kind no installed notifier has is
refused when registered, over gRPC (the client) and over HTTP."""

from __future__ import annotations

from pathlib import Path

import anyio.to_thread
import httpx
import pytest

from tests.unit.api.served import wingspan_serve
from tests.unit.server.receivers import PagerDutyReceiver
from wingspan._remote.client import AsyncRemote
from wingspan.core.errors import InvalidArgumentError

pytestmark = pytest.mark.slow

KEY = "R0UTINGKEY0123456789abcdefABCDEF"
PAGED = '''
from wingspan import LaunchPlan, PagerDuty, task, workflow


@task
def fail(x: int) -> int:
    raise ValueError(f"no good: {{x}}")


@workflow
def nightly(x: int) -> int:
    return fail(x=x)


paged = LaunchPlan.get_or_create(nightly, name="paged", notifications=[PagerDuty(
    "{key}", events_url="{url}/v2/enqueue", phases=["failed"],
    template="{{{{ workflow }}}} {{{{ phase }}}}: {{{{ link }}}}")])
'''
UNKNOWN = '''
from wingspan import LaunchPlan, Notify
from paged import nightly

teams = LaunchPlan.get_or_create(nightly, name="teams", notifications=[Notify("teams", {"url": "https://x"})])
'''


async def test_a_pagerduty_notice_links_the_console_and_an_unknown_kind_is_refused(tmp_path: Path) -> None:
    with PagerDutyReceiver() as pagerduty:
        (tmp_path / "paged.py").write_text(PAGED.format(key=KEY, url=pagerduty.url))
        (tmp_path / "unknown.py").write_text(UNKNOWN)
        async with wingspan_serve("--home", str(tmp_path / "home"), env={}) as (_, http_url, host, port):
            remote = AsyncRemote(f"{host}:{port}")
            try:
                await remote.register(tmp_path / "paged.py")
                # the client registers entities concurrently: the refusal comes in its group
                with pytest.raises(ExceptionGroup) as caught:
                    await remote.register(tmp_path / "unknown.py")
                assert caught.group_contains(InvalidArgumentError, match=(
                    r"register launch plan .*teams.*notification 1 \(teams\): no notifier of kind 'teams' is "
                    r"installed on this server \(its kinds: email, pagerduty, slack, webhook\)"))
                async with httpx.AsyncClient(base_url=http_url, timeout=30) as http:
                    refused = await http.post("/api/v1/CreateExecution", json={
                        "project": "default", "domain": "development", "name": "e-teams", "spec": {
                            "entityId": {"resourceType": "RESOURCE_TYPE_LAUNCH_PLAN", "project": "default",
                                         "domain": "development", "name": "paged"},
                            "notifications": [{"plugin": {"kind": "teams"}}]}})
                assert refused.status_code == 400, refused.text
                assert "no notifier of kind 'teams' is installed on this server" in refused.text
                run = await remote.execute("paged", {"x": 3})
                done = await run.wait(timeout=120)
                assert done.phase.name == "FAILED"
                (event,) = await anyio.to_thread.run_sync(pagerduty.wait_for, 1, 60.0)
            finally:
                await remote.aclose()
    assert event["problems"] == []
    link = f"{http_url}/console/projects/default/domains/development/executions/{run.id.name}"
    assert event["json"]["payload"]["summary"] == f"paged.nightly FAILED: {link}"
    assert event["json"]["links"] == [{"href": link, "text": "The execution in the Wingspan console"}]
    assert "no good: 3" in event["json"]["payload"]["custom_details"]["error"]
