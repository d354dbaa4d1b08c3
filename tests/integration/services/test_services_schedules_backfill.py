"""``wingspan backfill``: the executions of past ticks through the API, each under the name
the scheduler gives that tick (so none runs twice), with a dry-run listing."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio.to_thread
import pytest
from click.testing import CliRunner, Result
from sqlalchemy import update
from sqlmodel import col

from tests.integration.services import flows
from tests.integration.services.builders import (
    DOMAIN,
    PROJECT,
    ident,
    launch_plan_request,
    metadata_of,
    register_workflow_with_tasks,
    some,
)
from wingspan import CronSchedule, LaunchPlan, task, workflow
from wingspan.cli import cli
from wingspan.core.config import Settings
from wingspan.core.model import codec
from wingspan.core.schedules import tick_execution_name
from wingspan.core.types.purity import to_python_now
from wingspan.protos import v1
from wingspan.server.api.rpcs import AdminRpcs
from wingspan.server.db.models import LaunchPlanRow
from wingspan.server.scheduling.scheduler import Scheduler
from wingspan.server.serve import ApiServer

START = datetime(2026, 1, 1, 0, 0, tzinfo=UTC)


@task
def stamp(t: datetime) -> str:
    return t.isoformat()


@workflow
def stamped(kickoff: datetime) -> str:
    return stamp(t=kickoff)


MINUTELY = LaunchPlan.get_or_create(
    stamped, name="backfilled", schedule=CronSchedule("* * * * *", kickoff_time_input_arg="kickoff"))


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[ApiServer]:
    # backfill only creates executions: no engine needs to run them
    async with ApiServer(Settings(home=tmp_path / "home", http_port=0, grpc_port=0), grace=2,
                         engine=False) as running:
        admin = running.admin
        await register_workflow_with_tasks(admin, stamped, "v1")
        await AdminRpcs(admin).register_launch_plan(launch_plan_request(MINUTELY, "v1"))
        await AdminRpcs(admin).update_launch_plan_state(
            v1.UpdateLaunchPlanStateRequest(id=ident(3, "backfilled", "v1"), state=v1.LaunchPlanState.ACTIVE))
        yield running


async def wingspan(server: ApiServer, *args: str) -> Result:
    return await anyio.to_thread.run_sync(
        lambda: CliRunner().invoke(cli, [*args, "--endpoint", server.grpc_address]))


async def runs(server: ApiServer) -> list[v1.Execution]:
    listed = await AdminRpcs(server.admin).list_executions(
        v1.ListRequest(project=PROJECT, domain=DOMAIN, name="backfilled", limit=100))
    return sorted(listed.executions, key=lambda e: some(metadata_of(e).scheduled_at))


async def test_a_dry_run_lists_the_ticks_and_starts_nothing(server: ApiServer) -> None:
    result = await wingspan(server, "backfill", "backfilled", "--from", "2026-01-01T00:00",
                            "--to", "2026-01-01T00:05", "--dry-run", "-o", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [r["tick"] for r in rows] == [(START + timedelta(minutes=i)).isoformat() for i in range(6)]
    assert {r["status"] for r in rows} == {"would start"}
    assert rows[0]["execution"] == tick_execution_name(PROJECT, DOMAIN, "backfilled", START)
    assert await runs(server) == []


async def test_backfill_starts_each_tick_once_with_its_kickoff_time(server: ApiServer) -> None:
    args = ("backfill", "backfilled", "--from", "2026-01-01T01:00+01:00", "--to", "2026-01-01T00:02Z")
    first = await wingspan(server, *args)
    assert first.exit_code == 0, first.output
    assert "3 started" in first.output
    executions = await runs(server)
    expected = [START + timedelta(minutes=i) for i in range(3)]
    assert [metadata_of(e).scheduled_at for e in executions] == expected
    assert all(metadata_of(e).mode == v1.ExecutionMode.SCHEDULED for e in executions)
    data = await AdminRpcs(server.admin).get_execution_data(v1.GetExecutionRequest(id=executions[1].id))
    kickoff = to_python_now(codec.from_proto(some(data.inputs).literals["kickoff"]), datetime)
    assert kickoff == START + timedelta(minutes=1)
    again = await wingspan(server, *args[:-1], "2026-01-01T00:03Z", "-o", "json")
    assert [r["status"] for r in json.loads(again.output)] == ["already ran"] * 3 + ["started"]
    assert len(await runs(server)) == 4


async def test_a_tick_the_scheduler_fired_is_not_run_again(server: ApiServer) -> None:
    async with server.admin.db.write() as session:  # activated ten minutes ago
        await session.execute(update(LaunchPlanRow).where(col(LaunchPlanRow.name) == "backfilled")
                              .values(updated_at=datetime.now(UTC) - timedelta(minutes=10)))
    (fired,) = await Scheduler(server.admin).run_once()  # the latest tick, which has passed
    assert fired.execution
    tick = fired.tick.isoformat()
    result = await wingspan(server, "backfill", "backfilled", "--from", tick, "--to", tick, "-o", "json")
    assert json.loads(result.output) == [
        {"tick": tick, "execution": fired.execution, "status": "already ran"}]
    assert len(await runs(server)) == 1


async def test_bad_ranges_and_plans_without_a_schedule_are_refused(server: ApiServer) -> None:
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    ahead = await wingspan(server, "backfill", "backfilled", "--from", "2026-01-01", "--to", future)
    assert ahead.exit_code == 2 and "in the future" in ahead.output
    backwards = await wingspan(server, "backfill", "backfilled", "--from", "2026-01-02", "--to", "2026-01-01")
    assert backwards.exit_code == 2 and "comes before --from" in backwards.output
    garbled = await wingspan(server, "backfill", "backfilled", "--from", "yesterday")
    assert garbled.exit_code == 2 and "ISO 8601" in garbled.output
    too_many = await wingspan(server, "backfill", "backfilled", "--from", "2026-01-01", "--to", "2026-01-02",
                              "--max", "10")
    assert too_many.exit_code == 1 and "more than 10 ticks" in too_many.output
    await register_workflow_with_tasks(server.admin, flows.pipeline, "v1")
    await AdminRpcs(server.admin).register_launch_plan(launch_plan_request(flows.pipeline_plan, "v1"))
    unscheduled = await wingspan(server, "backfill", "pipeline_plan", "--version", "v1",
                                 "--from", "2026-01-01")
    assert unscheduled.exit_code == 1 and "has no schedule" in unscheduled.output
