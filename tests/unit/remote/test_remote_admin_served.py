"""Issue #25 item 1, the operator's commands, against `wingspan serve` as a real process:
projects created, changed, archived and listed; launch plans switched on and off; executions
filtered and deleted; `wingspan init`'s starter project run as written, locally and remotely.
Each command once as a person reads it and once with ``-o json``; lists over HTTP too."""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import httpx
import pytest
from click.testing import CliRunner, Result

from tests.unit.api.served import wingspan_serve
from wingspan._remote.client import AsyncRemote
from wingspan.cli import cli
from wingspan.core.model.execution import WorkflowPhase

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[str, str]]:
    async with wingspan_serve(env={"WINGSPAN_HOME": str(tmp_path / "home")}) as (_, http_url, host, port):
        yield http_url, f"{host}:{port}"


async def wingspan(endpoint: str, *args: str) -> Result:
    return await anyio.to_thread.run_sync(
        lambda: CliRunner().invoke(cli, [*args, "--endpoint", endpoint]))


async def as_json(endpoint: str, *args: str) -> Any:
    done = await wingspan(endpoint, *args, "-o", "json")
    assert done.exit_code == 0, done.output
    return json.loads(done.output)


async def test_projects_are_created_changed_archived_and_filtered(served: tuple[str, str]) -> None:
    http_url, endpoint = served
    made = await wingspan(endpoint, "project", "create", "ml", "--description", "models",
                          "--label", "team=vision")
    assert made.exit_code == 0 and "created project ml" in made.output, made.output
    row = await as_json(endpoint, "project", "create", "etl", "--name", "Pipelines")
    assert (row["id"], row["name"], row["state"]) == ("etl", "Pipelines", "active")
    again = await wingspan(endpoint, "project", "create", "ml")
    assert again.exit_code == 1 and "project 'ml' already exists" in again.output

    changed = await as_json(endpoint, "project", "update", "ml", "--label", "team=nlp")
    assert (changed["description"], changed["labels"]) == ("models", {"team": "nlp"})  # the rest kept
    missing = await wingspan(endpoint, "project", "update", "nope", "--name", "x")
    assert missing.exit_code == 1 and "project 'nope' does not exist" in missing.output

    assert [p["id"] for p in await as_json(endpoint, "get", "projects")] == ["default", "etl", "ml"]
    assert [p["id"] for p in await as_json(endpoint, "get", "projects", "--filter", "name~ipe")] == ["etl"]
    assert [p["id"] for p in await as_json(endpoint, "get", "projects", "--sort", "-id", "--limit", "2")] == [
        "ml", "etl"]
    bad = await wingspan(endpoint, "get", "projects", "--filter", "colour=red")
    assert bad.exit_code == 1 and "cannot filter on 'colour'; valid fields: created_at, id, name, state" \
        in bad.output

    archived = await wingspan(endpoint, "project", "archive", "etl")
    assert archived.exit_code == 0 and "archived project etl" in archived.output
    assert [p["id"] for p in await as_json(endpoint, "get", "projects")] == ["default", "ml"]
    listed = await as_json(endpoint, "get", "projects", "--archived", "--filter", "state=archived")
    assert [(p["id"], p["state"]) for p in listed] == [("etl", "archived")]
    refused = await wingspan(endpoint, "register", str(EXAMPLES / "chain.py"), "-p", "etl")
    assert refused.exit_code == 1 and "project 'etl' is archived" in refused.output
    assert (await as_json(endpoint, "project", "unarchive", "etl"))["state"] == "active"

    # the same list over HTTP: the filters are part of the API, not of the client
    async with httpx.AsyncClient(base_url=http_url, timeout=30) as http:
        answer = await http.post("/api/v1/ListProjects", json={
            "filters": [{"field": "id", "operator": "FILTER_OPERATOR_STARTS_WITH", "values": ["e"]}]})
    assert answer.status_code == 200, answer.text
    assert [p["id"] for p in answer.json()["projects"]] == ["etl"]

    domains = await as_json(endpoint, "get", "domains")
    assert [d["id"] for d in domains] == ["development", "staging", "production"]


async def test_launch_plans_are_switched_on_and_off(served: tuple[str, str], tmp_path: Path) -> None:
    _, endpoint = served
    code = tmp_path / "code"
    code.mkdir()
    # a launch plan name of its own: registering imports the module here, and launch plans are
    # known by name in this process (the examples' own must stay free for their tests)
    example = (EXAMPLES / "scheduled.py").read_text().replace('"nightly_report"', '"admin_nightly"')
    (code / "admin_scheduled.py").write_text(example)
    for version in ("v1", "v2"):
        registered = await wingspan(endpoint, "register", str(code), "--version", version)
        assert registered.exit_code == 0, registered.output

    def states(rows: list[dict[str, Any]]) -> dict[str, str]:
        return {r["version"]: r["state"] for r in rows}

    assert states(await as_json(endpoint, "get", "launchplans", "admin_nightly")) == {
        "v1": "inactive", "v2": "inactive"}
    on = await wingspan(endpoint, "launchplan", "activate", "admin_nightly", "--version", "v1")
    assert on.exit_code == 0, on.output
    assert "activated launch plan default/development/admin_nightly:v1" in on.output
    # without a version: the latest is activated, and the one active before is switched off
    latest = await as_json(endpoint, "launchplan", "activate", "admin_nightly")
    assert latest["version"] == "v2"
    assert states(await as_json(endpoint, "get", "launchplans", "admin_nightly")) == {
        "v1": "inactive", "v2": "active"}
    active = await as_json(endpoint, "get", "launchplans", "admin_nightly", "--filter", "state=active")
    assert [(r["version"], r["schedule"]) for r in active] == [("v2", True)]

    off = await wingspan(endpoint, "launchplan", "deactivate", "admin_nightly")  # the active one
    assert off.exit_code == 0, off.output
    assert "deactivated launch plan default/development/admin_nightly:v2" in off.output
    after = await as_json(endpoint, "get", "launchplans", "admin_nightly")
    assert set(states(after).values()) == {"inactive"}
    none = await wingspan(endpoint, "launchplan", "deactivate", "admin_nightly")
    assert none.exit_code == 1 and "admin_nightly" in none.output
    unknown = await wingspan(endpoint, "launchplan", "activate", "no_such_plan")
    assert unknown.exit_code == 1 and "launch plan 'no_such_plan' is not registered in default/development" \
        in unknown.output


async def test_executions_are_filtered_and_deleted(served: tuple[str, str], tmp_path: Path) -> None:
    _, endpoint = served
    code = tmp_path / "code"
    code.mkdir()
    (code / "admin_flows.py").write_text(
        "from wingspan import task, wait_for_input, workflow\n\n"
        "@task\ndef half(x: int) -> int:\n"
        "    if x % 2:\n        raise ValueError('odd')\n    return x // 2\n\n"
        "@workflow\ndef halve(x: int) -> int:\n    return half(x=x)\n\n"
        "@workflow\ndef waits() -> int:\n    return half(x=wait_for_input('x', expected_type=int))\n")
    assert (await wingspan(endpoint, "register", str(code), "--version", "v1")).exit_code == 0
    remote = AsyncRemote(endpoint)
    try:
        good = await remote.execute("admin_flows.halve", {"x": 4}, name="good", wait=True, timeout=60)
        bad = await remote.execute("admin_flows.halve", {"x": 3}, name="bad", wait=True, timeout=60)
        await remote.execute("admin_flows.waits", {}, name="waiting")
    finally:
        await remote.aclose()
    assert (good.phase, bad.phase) == (WorkflowPhase.SUCCEEDED, WorkflowPhase.FAILED)

    def names(rows: list[dict[str, Any]]) -> list[str]:
        return [r["name"] for r in rows]

    assert names(await as_json(endpoint, "get", "executions", "--filter", "phase=failed")) == ["bad"]
    assert names(await as_json(endpoint, "get", "executions", "--filter", "phase=failed,succeeded",
                               "--sort", "name")) == ["bad", "good"]
    assert names(await as_json(endpoint, "get", "executions", "admin_flows.halve", "--sort", "created_at",
                               "--limit", "1")) == ["good"]
    wrong = await wingspan(endpoint, "get", "executions", "--filter", "phase=done")
    assert wrong.exit_code == 1 and "unknown value 'done'; valid values:" in wrong.output
    shape = await wingspan(endpoint, "get", "executions", "--filter", "phase")
    assert shape.exit_code == 1 and "write FIELD OP VALUE" in shape.output

    running = await wingspan(endpoint, "execution", "delete", "waiting")
    assert running.exit_code == 1 and "terminate it before deleting it" in running.output
    unarchivable = await wingspan(endpoint, "execution", "archive", "waiting")
    assert unarchivable.exit_code == 1 and "only an ended execution can be archived" in unarchivable.output

    # archived: kept, but listed only when asked for
    archived = await wingspan(endpoint, "execution", "archive", "good")
    assert archived.exit_code == 0 and "archived default/development/good" in archived.output
    assert names(await as_json(endpoint, "get", "executions")) == ["waiting", "bad"]
    assert names(await as_json(endpoint, "get", "executions", "--filter", "state=archived")) == ["good"]
    every = await as_json(endpoint, "get", "executions", "--archived")
    assert [(r["name"], r.get("archived", False)) for r in every] == [
        ("waiting", False), ("bad", False), ("good", True)]
    assert (await as_json(endpoint, "execution", "unarchive", "good"))["name"] == "good"
    assert names(await as_json(endpoint, "get", "executions")) == ["waiting", "bad", "good"]
    deleted = await wingspan(endpoint, "execution", "delete", "bad")
    assert deleted.exit_code == 0 and "deleted default/development/bad" in deleted.output
    assert await as_json(endpoint, "execution", "delete", "good") == {
        "project": "default", "domain": "development", "name": "good", "deleted": True}
    assert names(await as_json(endpoint, "get", "executions")) == ["waiting"]
    gone = await wingspan(endpoint, "execution", "show", "bad")
    assert gone.exit_code == 1 and "does not exist" in gone.output


async def test_init_writes_a_project_that_runs_as_is(served: tuple[str, str], tmp_path: Path) -> None:
    _, endpoint = served
    folder = tmp_path / "starter"
    written = await anyio.to_thread.run_sync(
        lambda: CliRunner().invoke(cli, ["init", str(folder), "-o", "json"]))
    assert written.exit_code == 0, written.output
    assert json.loads(written.output)["files"] == [
        "config.toml", "flows/__init__.py", "flows/hello.py", "pyproject.toml", "tests/test_hello.py"]
    again = await anyio.to_thread.run_sync(lambda: CliRunner().invoke(cli, ["init", str(folder)]))
    assert again.exit_code == 1 and "nothing was written" in again.output

    # its tests pass with pytest as a user runs it, from the project's folder
    tested = await anyio.run_process([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
                                     cwd=folder, check=False)
    assert tested.returncode == 0, tested.stdout.decode() + tested.stderr.decode()
    assert "3 passed" in tested.stdout.decode()

    env = {"WINGSPAN_CONFIG": str(folder / "config.toml"), "WINGSPAN_HOME": str(tmp_path / "client-home")}
    config = (folder / "config.toml").read_text().replace("127.0.0.1:8089", endpoint)
    (folder / "config.toml").write_text(config)
    for where in ([], ["--remote"]):
        ran = await anyio.run_process(
            [sys.executable, "-m", "wingspan.cli", "run", *where, "flows/hello.py", "hello", "--name", "Ada"],
            cwd=folder, check=False, env={**_environ(), **env})
        assert ran.returncode == 0, ran.stderr.decode()
        assert "Hello, Ada!" in ran.stdout.decode() and "8" in ran.stdout.decode(), (where, ran.stdout)
    # the remote run went to the server the config names
    remote = AsyncRemote(endpoint)
    try:
        assert [e.entity.split(":")[0] for e in await remote.list_executions()] == ["flows.hello.hello"]
    finally:
        await remote.aclose()


def _environ() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if k not in ("WINGSPAN_ENDPOINT", "PYTEST_ADDOPTS")}
