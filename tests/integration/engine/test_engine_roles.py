"""``wingspan serve --role``: the roles a process runs, and an engine-only server that runs
executions created through another server's API (one SQLite database between them)."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest
from click.testing import CliRunner

from tests.integration.services import flows
from tests.integration.services.builders import (
    DOMAIN,
    PROJECT,
    closure_of,
    ident,
    literals,
    register_workflow_with_tasks,
)
from wingspan.core.config import Settings
from wingspan.core.errors import ConfigError
from wingspan.protos import v1
from wingspan.server.api.rpcs import AdminRpcs
from wingspan.server.serve import ROLES, ApiServer, parse_roles


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
