"""Retention on SQLite and a blob folder, with executions a served engine ran (see
retention_scenario.py; the same on PostgreSQL and MinIO in tests/real/api/test_retention_real.py)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import anyio
import httpx
import pytest

from tests.unit.api.served import wingspan_serve
from tests.unit.remote.retention_scenario import retention_deletes_what_expired_executions_own, write_code
from tests.unit.remote.servers import api_server
from wingspan._remote.client import AsyncRemote
from wingspan.core.model.execution import WorkflowPhase
from wingspan.core.model.projects import Project, RetentionPolicy


@pytest.fixture(scope="module")
def code(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # one folder for the module: it is imported as the module "retained" once
    return write_code(tmp_path_factory)


async def test_retention_deletes_what_expired_executions_own_and_keeps_shared_cache(
        code: Path, tmp_path: Path) -> None:
    async with api_server(tmp_path / "home", engine=True) as server:
        await retention_deletes_what_expired_executions_own(server, code)


async def test_wingspan_serve_runs_retention_in_its_scheduler_role(code: Path, tmp_path: Path) -> None:
    env = {"WINGSPAN_HOME": str(tmp_path / "home"), "WINGSPAN_RETENTION_INTERVAL_SECONDS": "1"}
    async with wingspan_serve(env=env) as (_, http_url, host, port):
        async with httpx.AsyncClient(base_url=http_url, timeout=30) as http:
            created = await http.post("/api/v1/CreateProject",
                                      json={"project": {"id": "brief", "retention": {"maxAge": "1s"}}})
            assert created.status_code == 200, created.text
        client = AsyncRemote(f"{host}:{port}", project="brief")
        try:
            await client.register(code)
            run = await client.execute("retained.measured", {"x": 5}, wait=True, timeout=120)
            assert run.phase == WorkflowPhase.SUCCEEDED, run.error
            # nothing started retention before: the project's retention was stored, never applied
            with anyio.fail_after(60):  # polled: the run happens in the server's process
                while True:
                    if not await client.list_executions():
                        break
                    await anyio.sleep(0.2)
        finally:
            await client.aclose()
    store = tmp_path / "home" / "blobs"  # the execution's payloads and data went with it
    assert not [p for folder in ("executions", "data") for p in (store / folder).rglob("*") if p.is_file()]


async def test_serve_refuses_a_retention_interval_under_a_second(tmp_path: Path) -> None:
    env = {"WINGSPAN_HOME": str(tmp_path / "home"), "WINGSPAN_RETENTION_INTERVAL_SECONDS": "0"}
    with pytest.raises(AssertionError, match="setting retention_interval_seconds: 0 must be at least 1"):
        async with wingspan_serve(env=env):
            pass


async def test_the_retention_command_shows_what_would_go_then_deletes_it(code: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    async with api_server(home, engine=True) as server:
        await server.admin.projects.create_project(
            Project(id="brief", name="brief", retention=RetentionPolicy(max_age=timedelta(seconds=1))))
        client = AsyncRemote(server.grpc_address, project="brief")
        try:
            await client.register(code)
            run = await client.execute("retained.measured", {"x": 7}, name="gone-soon", wait=True,
                                       timeout=120)
            assert run.phase == WorkflowPhase.SUCCEEDED, run.error
        finally:
            await client.aclose()
    finished = time.time()
    await anyio.sleep(max(0.0, finished + 1.5 - time.time()))  # past the project's retention of 1 s

    def wingspan(*args: str) -> tuple[int, str]:
        done = subprocess.run([sys.executable, "-m", "wingspan.cli", "retention", *args, "--home", str(home)],
                              capture_output=True, text=True, timeout=120)
        return done.returncode, done.stdout + done.stderr

    dry = await anyio.to_thread.run_sync(wingspan, "--dry-run", "-o", "json")
    assert dry[0] == 0, dry[1]
    listed = json.loads(dry[1][:dry[1].rindex("}") + 1])
    assert [row["execution"] for row in listed["executions"]] == ["brief/development/gone-soon"]
    assert listed["dry_run"] and listed["executions"][0]["cache_entries"] == 1
    assert list((home / "blobs" / "data" / "brief").rglob("report.txt"))  # nothing deleted yet
    done = await anyio.to_thread.run_sync(wingspan)
    assert done[0] == 0 and "brief/development/gone-soon" in done[1], done[1]
    assert "retention deleted 1 finished executions" in done[1]
    assert not [p for p in (home / "blobs" / "data").rglob("*") if p.is_file()]
    again = await anyio.to_thread.run_sync(wingspan, "--dry-run")
    assert again[0] == 0 and "would delete 0 finished executions" in again[1], again[1]
