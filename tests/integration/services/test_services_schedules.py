"""The scheduler, on a fake clock: cron and fixed-rate ticks start one execution each with the
tick time as the kickoff input, catch-up policies after downtime, deactivation, a new
version moving the schedule, and two schedulers firing every tick exactly once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import pytest
from sqlmodel import select

from tests.integration.services.builders import (
    DOMAIN,
    PROJECT,
    entity_of,
    ident,
    launch_plan_request,
    metadata_of,
    name_of,
    register_workflow_with_tasks,
    some,
)
from wingspan import CronSchedule, FixedRate, LaunchPlan, task, workflow
from wingspan.core.config import Settings
from wingspan.core.model import codec
from wingspan.core.model.launch_plans import LaunchPlanSpec
from wingspan.core.types.purity import to_python_now
from wingspan.protos import v1
from wingspan.server.api.rpcs import AdminRpcs
from wingspan.server.db.models import ScheduleTickRow
from wingspan.server.scheduling.scheduler import Scheduler, run_scheduler, tick_execution_name
from wingspan.server.services.admin import AdminService


@task
def stamp(t: datetime, label: str) -> str:
    return f"{label}@{t.isoformat()}"


@workflow
def stamped(kickoff: datetime, label: str = "tick") -> str:
    return stamp(t=kickoff, label=label)


@workflow
def needs_label(kickoff: datetime, label: str) -> str:
    return stamp(t=kickoff, label=label)


MINUTELY = LaunchPlan.get_or_create(
    stamped, name="minutely", schedule=CronSchedule("* * * * *", kickoff_time_input_arg="kickoff"))
EVERY_5 = {
    policy: LaunchPlan.get_or_create(
        stamped, name=f"every5_{policy}",
        schedule=FixedRate(timedelta(minutes=5), kickoff_time_input_arg="kickoff", catch_up=policy))
    for policy in ("latest", "all", "none")
}
BROKEN = LaunchPlan.get_or_create(
    needs_label, name="broken", schedule=CronSchedule("* * * * *", kickoff_time_input_arg="kickoff"))


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
async def registered(admin: AdminService) -> AdminService:
    await register_workflow_with_tasks(admin, stamped, "v1")
    await register_workflow_with_tasks(admin, needs_label, "v1")
    for plan in (MINUTELY, BROKEN, *EVERY_5.values()):
        await AdminRpcs(admin).register_launch_plan(launch_plan_request(plan, "v1"))
    return admin


async def activate(admin: AdminService, name: str, version: str = "v1", state: int = 1) -> datetime:
    """Activates (or deactivates) a version; when it happened (the schedule's anchor)."""
    plan = await AdminRpcs(admin).update_launch_plan_state(
        v1.UpdateLaunchPlanStateRequest(id=ident(3, name, version), state=v1.LaunchPlanState(state)))
    moment = some(some(plan.closure).updated_at)
    return moment


async def executions(admin: AdminService, name: str) -> list[v1.Execution]:
    listed = await AdminRpcs(admin).list_executions(
        v1.ListRequest(project=PROJECT, domain=DOMAIN, name=name, limit=500))
    return sorted(listed.executions, key=lambda e: some(metadata_of(e).scheduled_at))


def minute_after(moment: datetime, minutes: int = 1) -> datetime:
    return moment.replace(second=0, microsecond=0) + timedelta(minutes=minutes)


async def test_a_cron_tick_starts_one_execution_with_the_tick_time_as_kickoff_input(
    registered: AdminService,
) -> None:
    activated = await activate(registered, "minutely")
    clock = Clock(activated)
    scheduler = Scheduler(registered, clock)
    assert await scheduler.run_once() == []  # the first tick is the next whole minute
    tick = minute_after(activated)
    clock.now = tick + timedelta(seconds=3)
    (fired,) = await scheduler.run_once()
    assert fired.tick == tick and fired.execution == tick_execution_name(PROJECT, DOMAIN, "minutely", tick)
    assert await scheduler.run_once() == []  # fired once, not every round
    (execution,) = await executions(registered, "minutely")
    assert name_of(execution) == fired.execution
    assert metadata_of(execution).mode == v1.ExecutionMode.SCHEDULED
    assert metadata_of(execution).scheduled_at == tick
    data = await AdminRpcs(registered).get_execution_data(v1.GetExecutionRequest(id=execution.id))
    kickoff = to_python_now(codec.from_proto(some(data.inputs).literals["kickoff"]), datetime)
    assert kickoff == tick and some(data.inputs).literals["label"].string == "tick"
    clock.advance(minutes=3)
    assert [f.tick for f in await scheduler.run_once()] == [tick + timedelta(minutes=3)]  # latest only


@pytest.mark.parametrize(("policy", "expected"), [("latest", 1), ("all", 6), ("none", 0)])
async def test_after_downtime_the_catch_up_policy_decides(
    registered: AdminService, policy: str, expected: int
) -> None:
    name = f"every5_{policy}"
    activated = await activate(registered, name)
    clock = Clock(activated + timedelta(minutes=5, seconds=1))
    scheduler = Scheduler(registered, clock)
    (first,) = await scheduler.run_once()  # a fixed rate counts from the activation
    assert first.tick == activated + timedelta(minutes=5)
    clock.advance(minutes=32)  # down for six ticks; the last one is two minutes old
    fired = await scheduler.run_once()
    assert len(fired) == expected
    if expected:
        assert fired[-1].tick == first.tick + timedelta(minutes=30)
    assert len(await executions(registered, name)) == 1 + expected
    clock.advance(minutes=3)  # the next tick on time fires whatever the policy
    assert [f.tick for f in await scheduler.run_once()] == [first.tick + timedelta(minutes=35)]


async def test_deactivation_stops_the_schedule_at_once(registered: AdminService) -> None:
    activated = await activate(registered, "minutely")
    clock = Clock(minute_after(activated, 1) + timedelta(seconds=1))
    scheduler = Scheduler(registered, clock)
    assert len(await scheduler.run_once()) == 1
    plan_row = (await scheduler._plans())[0]
    await activate(registered, "minutely", state=0)
    clock.advance(minutes=5)
    assert await scheduler.run_once() == []
    # a scheduler that read the plan just before the deactivation fires nothing either
    spec = codec.decode(LaunchPlanSpec, await registered.entities.content(plan_row))
    assert spec.schedule is not None
    assert await scheduler._fire(plan_row, spec.schedule, minute_after(clock.now, -1)) is None
    assert len(await executions(registered, "minutely")) == 1


async def test_activating_a_new_version_moves_the_schedule(registered: AdminService) -> None:
    activated = await activate(registered, "minutely")
    clock = Clock(minute_after(activated, 1) + timedelta(seconds=1))
    scheduler = Scheduler(registered, clock)
    assert len(await scheduler.run_once()) == 1
    request = launch_plan_request(MINUTELY, "v2")
    request.spec.schedule.cron.expression = "*/10 * * * *"
    request.spec.workflow_id.version = "v1"
    await AdminRpcs(registered).register_launch_plan(request)
    moved = await activate(registered, "minutely", "v2")
    clock.now = moved + timedelta(minutes=25)
    fired = await scheduler.run_once()
    assert [f.tick.minute % 10 for f in fired] == [0]  # v2's ticks only (latest of two)
    runs = await executions(registered, "minutely")
    assert [entity_of(e).version for e in runs] == ["v1", "v2"]


async def test_a_tick_whose_execution_cannot_start_is_recorded_once(registered: AdminService) -> None:
    activated = await activate(registered, "broken")
    clock = Clock(minute_after(activated, 1) + timedelta(seconds=1))
    scheduler = Scheduler(registered, clock)
    (fired,) = await scheduler.run_once()
    assert fired.execution == "" and "required input 'label'" in fired.error
    assert await scheduler.run_once() == []
    clock.advance(minutes=1)
    assert len(await scheduler.run_once()) == 1  # the next tick is tried


async def test_two_schedulers_fire_every_tick_exactly_once(
    registered: AdminService, settings: Settings
) -> None:
    replicas = [await AdminService.open(settings) for _ in range(2)]
    try:
        activated = await activate(registered, "minutely")
        start = minute_after(activated)
        clock = Clock(start)
        schedulers = [Scheduler(replica, clock) for replica in replicas]
        ticks = 40
        for i in range(ticks):
            clock.advance(minutes=1)
            # each starts first in turn: whichever commits first fires the tick
            order = schedulers if i % 2 else schedulers[::-1]
            await asyncio.gather(*(s.run_once() for s in order))
        started: list[Any] = [f for s in schedulers for f in s.fired if f.execution]
        assert len(started) == ticks
        assert sorted(f.tick for f in started) == [start + timedelta(minutes=i) for i in range(1, ticks + 1)]
        assert all(s.fired and any(f.execution for f in s.fired) for s in schedulers)  # both took part
        assert len(await executions(registered, "minutely")) == ticks
        async with registered.db.read() as session:
            rows = list((await session.execute(select(ScheduleTickRow))).scalars())
        assert len(rows) == ticks and len({r.tick_at for r in rows}) == ticks
    finally:
        for replica in replicas:
            await replica.aclose()


def test_tick_names_are_valid_execution_names_and_differ_per_tick() -> None:
    tick = datetime(2026, 1, 1, tzinfo=UTC)
    name = tick_execution_name(PROJECT, DOMAIN, "p", tick)
    assert name[0].isalpha() and len(name) == 20
    assert name != tick_execution_name(PROJECT, DOMAIN, "p", tick + timedelta(minutes=1))


async def test_run_scheduler_fires_in_rounds_until_stopped(registered: AdminService) -> None:
    activated = await activate(registered, "minutely")
    tick = minute_after(activated)
    rounds = anyio.Event()
    calls: list[datetime] = []

    def clock() -> datetime:
        calls.append(tick)
        if len(calls) == 3:  # two rounds are over
            rounds.set()
        return tick

    stop = anyio.Event()
    async with anyio.create_task_group() as group:
        group.start_soon(lambda: run_scheduler(registered, clock=clock, stop=stop, interval=0.01))
        with anyio.fail_after(10):
            await rounds.wait()
        stop.set()
    (execution,) = await executions(registered, "minutely")
    assert metadata_of(execution).scheduled_at == tick
