"""``wingspan serve --role``: the roles a process runs, and an engine-only server that runs
executions created through another server's API (one SQLite database between them)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import anyio
import pytest
from click.testing import CliRunner

from tests.integration.services import flows
from tests.integration.services.builders import (
    DOMAIN,
    PROJECT,
    TEST_ENGINE,
    closure_of,
    ident,
    literals,
    register_workflow_with_tasks,
    some,
    take_lease,
)
from wingspan.core.config import Settings
from wingspan.core.errors import ConfigError
from wingspan.core.model import codec
from wingspan.protos import v1
from wingspan.server.api.rpcs import AdminRpcs, EngineRpcs
from wingspan.server.serve import ROLES, ApiServer, parse_roles
from wingspan.server.services.admin import AdminService


def test_roles_are_names_or_comma_lists_and_all_by_default() -> None:
    assert parse_roles(()) == frozenset(ROLES) == parse_roles(["all"])
    assert parse_roles(["api", "engine,scheduler"]) == frozenset(ROLES)
    assert parse_roles("engine") == {"engine"}
    with pytest.raises(ConfigError, match="unknown role bogus: choose from api, engine, scheduler"):
        parse_roles(["api,bogus"])


def test_the_command_refuses_an_unknown_role() -> None:
    from wingspan.server.cli import serve

    result = CliRunner().invoke(serve, ["--role", "engines"])
    assert result.exit_code == 2 and "unknown role engines" in result.output


@pytest.mark.slow
async def test_an_engine_only_server_runs_what_an_api_only_server_created(tmp_path: Path) -> None:
    # one SQLite file between them (PostgreSQL with several replicas: tests/real/engine)
    base = Settings(home=tmp_path / "home", http_port=0, grpc_port=0)
    async with ApiServer(base, grace=1, roles=frozenset({"api"})) as api:
        assert api.engine is None
        async with ApiServer(base, grace=1, roles=frozenset({"engine"}), replica_id="engine-only",
                             lease_seconds=5) as engine:
            assert engine.http_port == 0 and engine.engine.replica_id == "engine-only"
            try:
                await register_workflow_with_tasks(api.admin, flows.pipeline, "v1")
                created = await AdminRpcs(api.admin).create_execution(v1.CreateExecutionRequest(
                    project=PROJECT, domain=DOMAIN, spec=v1.ExecutionSpec(
                        entity_id=ident(2, "tests.integration.services.flows.pipeline", "v1"),
                        inputs=literals(x=2, y=3))))
                with anyio.fail_after(60):
                    while True:
                        got = await AdminRpcs(api.admin).get_execution(v1.GetExecutionRequest(id=created.id))
                        if int(closure_of(got).phase) >= 3:
                            break
                        await anyio.sleep(0.05)
                assert closure_of(got).phase == v1.WorkflowPhase.SUCCEEDED, closure_of(got).error
            finally:
                for plugin in engine.engine.registry.plugins:
                    await plugin.aclose()


@pytest.mark.parametrize("backend", [pytest.param("postgres", marks=pytest.mark.real)])
async def test_an_api_replica_follows_at_once_the_events_another_process_stores(
    admin: AdminService, settings: Settings, tmp_path: Path
) -> None:
    # ``admin`` stands for an engine replica's process; the API replica's watcher polls only
    # every 60 s, so only PostgreSQL's notification brings it each event within the test's time
    await register_workflow_with_tasks(admin, flows.gated, "v1")
    created = await AdminRpcs(admin).create_execution(v1.CreateExecutionRequest(
        project=PROJECT, domain=DOMAIN, name="followed",
        spec=v1.ExecutionSpec(entity_id=ident(2, flows.gated.name, "v1"), inputs=literals(x=1))))
    execution_id = codec.from_proto(some(created.id))
    await take_lease(admin, execution_id)
    api_settings = replace(settings, home=tmp_path / "api", http_port=0, grpc_port=0)
    async with ApiServer(api_settings, grace=1, roles=frozenset({"api"})) as api:
        seen: list[int] = []
        first = anyio.Event()

        async def follow() -> None:
            async for event in api.admin.events.watch_execution(execution_id, poll_interval=60):
                seen.append(some(event.value).sequence)
                first.set()

        engine = EngineRpcs(admin.events)
        with anyio.fail_after(10):
            # the watcher ends by itself once it has seen the execution end
            async with anyio.create_task_group() as group:
                group.start_soon(follow)
                await engine.create_workflow_event(
                    workflow_event(some(created.id), v1.WorkflowPhase.RUNNING, 1))
                await first.wait()
                await engine.create_workflow_event(
                    workflow_event(some(created.id), v1.WorkflowPhase.SUCCEEDED, 2))
    assert seen == [1, 2]


def workflow_event(execution: v1.ExecutionId, phase: v1.WorkflowPhase, sequence: int
                   ) -> v1.WorkflowExecutionEvent:
    return v1.WorkflowExecutionEvent(execution_id=execution, phase=phase, sequence=sequence,
                                     occurred_at=datetime.now(UTC), producer_id=TEST_ENGINE)
