"""Schedules, concurrency and notifications together on a running server with its engine:
three missed ticks start three executions of a plan limited to one at a time; the engine
runs them one after the other as each end releases the next, and each end reaches a real
webhook receiver through the outbox."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import anyio
import anyio.to_thread
import httpx
import pytest

from tests.integration.services.builders import (
    DOMAIN,
    PROJECT,
    closure_of,
    ident,
    launch_plan_request,
    metadata_of,
    register_workflow_with_tasks,
    some,
)
from tests.unit.server.receivers import Receiver
from wingspan import ConcurrencyPolicy, FixedRate, LaunchPlan, Webhook, task, workflow
from wingspan.core.config import Settings
from wingspan.core.model import codec
from wingspan.protos import v1
from wingspan.server.api.rpcs import AdminRpcs
from wingspan.server.scheduling.scheduler import Scheduler
from wingspan.server.serve import ApiServer
from wingspan.server.services.notifications import run_notification_sender


@task
def late(t: datetime) -> str:
    return t.isoformat()


@workflow
def report(kickoff: datetime) -> str:
    return late(t=kickoff)


SERIAL = LaunchPlan.get_or_create(
    report, name="serial_report", concurrency=ConcurrencyPolicy(max=1, when_full="wait"),
    schedule=FixedRate(timedelta(minutes=1), kickoff_time_input_arg="kickoff", catch_up="all"))


@pytest.fixture
async def server(settings: Settings) -> AsyncIterator[ApiServer]:
    async with ApiServer(dataclasses.replace(settings, http_port=0, grpc_port=0), grace=2) as running:
        yield running


async def test_missed_ticks_run_one_at_a_time_and_each_end_is_notified(server: ApiServer) -> None:
    admin = server.admin
    with Receiver() as receiver:
        await register_workflow_with_tasks(admin, report, "v1")
        request = launch_plan_request(SERIAL, "v1")
        request.spec.notifications = [codec.to_proto(Webhook(url=receiver.url).to_model())]
        await AdminRpcs(admin).register_launch_plan(request)
        plan = await AdminRpcs(admin).update_launch_plan_state(v1.UpdateLaunchPlanStateRequest(
            id=ident(3, "serial_report", "v1"), state=v1.LaunchPlanState.ACTIVE))
        activated = some(some(plan.closure).updated_at)
        fired = await Scheduler(admin, lambda: activated + timedelta(minutes=3, seconds=1)).run_once()
        assert len(fired) == 3  # catch-up "all": every missed tick
        stop = anyio.Event()
        async with anyio.create_task_group() as group:
            group.start_soon(lambda: run_notification_sender(admin, stop=stop, interval=0.05))
            bodies = [r["json"] for r in await anyio.to_thread.run_sync(receiver.wait_for, 3, 120.0)]
            stop.set()
    names = {f"{PROJECT}/{DOMAIN}/{f.execution}" for f in fired}
    assert {b["execution_id"] for b in bodies} == names
    assert {b["phase"] for b in bodies} == {"SUCCEEDED"}
    runs = []
    for f in fired:
        runs.append(await AdminRpcs(admin).get_execution(v1.GetExecutionRequest(
            id=v1.ExecutionId(project=PROJECT, domain=DOMAIN, name=f.execution))))
    runs.sort(key=lambda e: some(closure_of(e).started_at))
    assert [closure_of(e).phase for e in runs] == [v1.WorkflowPhase.SUCCEEDED] * 3
    for earlier, later in itertools.pairwise(runs):  # never two at once
        assert some(closure_of(later).started_at) >= (some(closure_of(earlier).started_at)
                                                      + some(closure_of(earlier).duration))
    assert [metadata_of(e).scheduled_at for e in runs] == sorted(f.tick for f in fired)  # in tick order
    # the delivery attempts, over the HTTP API
    async with httpx.AsyncClient(base_url=server.http_url, timeout=30) as http:
        answer = await http.post("/api/v1/ListNotifications", json={"executionId": {
            "project": PROJECT, "domain": DOMAIN, "name": some(runs[0].id).name}})
    assert answer.status_code == 200, answer.text
    (delivery,) = answer.json()["notifications"]
    assert delivery["state"] == "delivered" and delivery["notification"]["webhook"]["url"] == receiver.url
    assert [a["ok"] for a in delivery["attempts"]] == [True]
