"""Issue #25 item 2, execution settings per level, against `wingspan serve` as a real process:
stored per deployment, project and project-domain (`wingspan project settings`), given by a
launch plan and by an execution, resolved once per execution with one precedence
(task > execution > launch plan > project-domain > project > deployment), shown per execution
with the level each value came from (`wingspan execution show`), and acted on by the engine."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio.to_thread
import httpx
import pytest
from click.testing import CliRunner, Result

from tests.unit.api.served import wingspan_serve
from wingspan._remote.client import AsyncRemote
from wingspan.cli import cli
from wingspan.core.model.execution import WorkflowPhase

FLOWS = """
import os

from wingspan import LaunchPlan, task, workflow

@task
def double(x: int) -> int:
    return 2 * x

@task(target="local-process")
def pinned_pid(x: int) -> int:
    return os.getpid()

@workflow
def doubled(x: int) -> int:
    return double(x=x)

@workflow
def pinned(x: int) -> int:
    return pinned_pid(x=x)

planned = LaunchPlan.get_or_create(doubled, name="planned", execution_settings={
    "labels.level": "launch plan", "service_account": "from-plan", "max_parallelism": 4})
"""
#: every setting, as each level sets it (the execution's come with the create request)
EVERY = {"max_parallelism": "1", "service_account": "sa", "namespace_template": "{project}-{domain}",
         "interruptible": "yes", "queue": "shared:3", "python_target": "local-process",
         "default_resources.requests.cpu": "250m", "default_resources.limits.memory": "1Gi",
         "max_resources.cpu": "2", "labels.level": "x", "annotations.owner": "x"}


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[str, str, int]]:
    home = {"WINGSPAN_HOME": str(tmp_path / "home")}
    async with wingspan_serve(env=home) as (server, http_url, host, port):
        yield http_url, f"{host}:{port}", server.process.pid


async def wingspan(endpoint: str, *args: str) -> Result:
    return await anyio.to_thread.run_sync(lambda: CliRunner().invoke(cli, [*args, "--endpoint", endpoint]))


async def as_json(endpoint: str, *args: str) -> Any:
    done = await wingspan(endpoint, *args, "-o", "json")
    assert done.exit_code == 0, done.output
    return json.loads(done.output)


async def settings_of(endpoint: str, name: str) -> dict[str, tuple[str, str]]:
    shown = await as_json(endpoint, "execution", "show", name)
    return {row["setting"]: (row["value"], row["from"]) for row in shown["settings"]}


def sets(values: dict[str, str], level: str) -> list[str]:
    """--set flags for every value of ``values``, the labels' and annotations' marked with the level."""
    return [f"--set={k}={level if k.startswith(('labels.', 'annotations.')) else v}"
            for k, v in values.items()]


async def test_settings_are_kept_per_level_and_bad_ones_refused(served: tuple[str, str, int]) -> None:
    http_url, endpoint, _ = served
    assert await as_json(endpoint, "project", "settings", "default") == {}
    shown = await wingspan(endpoint, "project", "settings", "default")
    assert "default sets nothing of its own" in shown.output
    stored = await as_json(endpoint, "project", "settings", "default", *sets(EVERY, "project"))
    assert stored == {**EVERY, "labels.level": "project", "annotations.owner": "project"}
    changed = await as_json(endpoint, "project", "settings", "default", "--unset", "queue",
                            "--set", "max_parallelism=7")
    assert "queue" not in changed and changed["max_parallelism"] == "7"
    domain = await as_json(endpoint, "project", "settings", "default", "-d", "staging",
                           "--set", "interruptible=no")
    assert domain == {"interruptible": "no"}
    assert (await as_json(endpoint, "project", "settings", "*", "--set", "queue=everyone:10")) == {
        "queue": "everyone:10"}

    before = await as_json(endpoint, "project", "settings", "default")
    for flags, said in [
        (["--set", "colour=red"], "unknown setting 'colour'"),
        (["--set", "max_parallelism=many"], "max_parallelism 'many' is not a whole number"),
        (["--set", "queue=gpu"], "queue 'gpu': write NAME:MAX"),
        (["--set", "default_resources.requests.cpu=lots"],
         "default_resources.requests.cpu 'lots' is not a quantity"),
        (["--set", "namespace_template={team}"], "unknown placeholder(s) team"),
    ]:
        refused = await wingspan(endpoint, "project", "settings", "default", *flags)
        assert refused.exit_code == 1 and said in refused.output, (flags, refused.output)
    missing = await wingspan(endpoint, "project", "settings", "nope", "--set", "max_parallelism=1")
    assert missing.exit_code == 1 and "project 'nope' does not exist" in missing.output
    assert await as_json(endpoint, "project", "settings", "default") == before  # nothing changed

    # the server checks too, whichever client: over HTTP, a bad quantity changes nothing
    async with httpx.AsyncClient(base_url=http_url, timeout=30) as http:
        answer = await http.post("/api/v1/UpdateProjectSettings", json={
            "project": "default", "settings": {"maxResources": {"memory": "huge"}}})
        assert answer.status_code == 400 and "max_resources.memory 'huge' is not a quantity" in answer.text
        got = await http.post("/api/v1/GetProjectSettings", json={"project": "default", "domain": "staging"})
    assert got.status_code == 200 and got.json()["settings"]["interruptible"] == "TOGGLE_OFF"
    assert await as_json(endpoint, "project", "settings", "default") == before


async def test_each_value_comes_from_the_most_specific_level(served: tuple[str, str, int],
                                                             tmp_path: Path) -> None:
    _, endpoint, server_pid = served
    code = tmp_path / "code"
    code.mkdir()
    (code / "settings_flows.py").write_text(FLOWS)
    assert (await wingspan(endpoint, "register", str(code), "--version", "v1")).exit_code == 0
    deployment = {k: v for k, v in EVERY.items() if k != "python_target"}
    given = await wingspan(endpoint, "project", "settings", "*", *sets(deployment, "deployment"))
    assert given.exit_code == 0, given.output
    remote = AsyncRemote(endpoint)
    try:
        async def run(entity: str, name: str, **settings: Any) -> dict[str, tuple[str, str]]:
            done = await remote.execute(entity, {"x": 2}, name=name, wait=True, timeout=60,
                                        settings=settings or None)
            assert done.phase == WorkflowPhase.SUCCEEDED, done.error
            return await settings_of(endpoint, name)

        # the deployment alone
        found = await run("settings_flows.doubled", "only-deployment")
        assert found == {k: (v if k not in ("labels.level", "annotations.owner") else "deployment",
                             "deployment") for k, v in deployment.items()}

        # each level above it takes over what it sets, and only that
        await wingspan(endpoint, "project", "settings", "default", "--set", "service_account=project-sa",
                       "--set", "labels.level=project", "--set", "max_resources.cpu=4")
        await wingspan(endpoint, "project", "settings", "default", "-d", "development",
                       "--set", "service_account=domain-sa", "--set", "labels.level=project-domain")
        found = await run("settings_flows.doubled", "by-domain")
        assert found["service_account"] == ("domain-sa", "project-domain")
        assert found["labels.level"] == ("project-domain", "project-domain")
        assert found["max_resources.cpu"] == ("4", "project")
        assert found["queue"] == ("shared:3", "deployment")

        found = await run("planned", "by-plan")
        assert found["service_account"] == ("from-plan", "launch plan")
        assert found["labels.level"] == ("launch plan", "launch plan")
        assert found["max_parallelism"] == ("4", "launch plan")
        assert found["max_resources.cpu"] == ("4", "project")

        found = await run("planned", "by-execution", **{"labels.level": "execution", "max_parallelism": 2})
        assert found["labels.level"] == ("execution", "execution")
        assert found["max_parallelism"] == ("2", "execution")
        assert found["service_account"] == ("from-plan", "launch plan")

        # a relaunch runs with the settings of the original, as they were resolved for it
        again = await remote.relaunch("by-execution", name="relaunched")
        await again.wait(60)
        assert await settings_of(endpoint, "relaunched") == await settings_of(endpoint, "by-execution")

        # the engine acts on them: the python_target the project names is where Python tasks run
        # (in-process, which in a server runs no registered code)...
        await wingspan(endpoint, "project", "settings", "default", "--set", "python_target=in-process")
        moved = await remote.execute("settings_flows.doubled", {"x": 2}, name="moved", wait=True, timeout=60)
        assert moved.phase == WorkflowPhase.FAILED
        assert "settings_flows.double@v1 of type 'python' has no task plugin in this server" in moved.error
        # ... unless the task names its own (task > every other level): in a worker process
        pinned = await remote.execute("settings_flows.pinned", {"x": 2}, name="pinned", wait=True, timeout=60)
        assert pinned.phase == WorkflowPhase.SUCCEEDED, pinned.error
        assert (await pinned.outputs())["o0"] not in (0, server_pid)
        await wingspan(endpoint, "project", "settings", "default", "-d", "development",
                       "--set", "python_target=nowhere")
        broken = await remote.execute("settings_flows.doubled", {"x": 2}, name="nowhere", wait=True,
                                      timeout=60)
        assert broken.phase == WorkflowPhase.FAILED
        said = "the python_target 'nowhere' of this execution (from its project-domain settings)"
        assert said in broken.error
    finally:
        await remote.aclose()

    table = await wingspan(endpoint, "execution", "show", "by-execution")
    assert table.exit_code == 0 and "settings (and the level each came from)" in table.output
    assert "from-plan" in table.output and "launch plan" in table.output


QUEUED_FLOWS = """
from wingspan import LaunchPlan, task, wait_for_input, workflow

@task
def echo(x: int) -> int:
    return x

@workflow
def gated() -> int:
    return echo(x=wait_for_input("go", expected_type=int))

# two launch plans, one queue: at most one execution of either runs at a time
first = LaunchPlan.get_or_create(gated, name="queued_first", execution_settings={"queue": "shared:1"})
second = LaunchPlan.get_or_create(gated, name="queued_second", execution_settings={"queue": "shared:1"})
"""


async def test_a_queue_limits_running_executions_across_launch_plans(served: tuple[str, str, int],
                                                                    tmp_path: Path) -> None:
    _, endpoint, _ = served
    code = tmp_path / "code"
    code.mkdir()
    (code / "queued_flows.py").write_text(QUEUED_FLOWS)
    assert (await wingspan(endpoint, "register", str(code), "--version", "v1")).exit_code == 0
    remote = AsyncRemote(endpoint)
    try:
        running = await remote.execute("queued_first", {}, name="runs-first")
        waiting = await remote.execute("queued_second", {}, name="waits", signals={"go": 2})
        shown = await as_json(endpoint, "execution", "show", "waits")
        assert (shown["phase"], shown["error"]) == ("QUEUED", "waiting for a place in queue shared (max 1)")
        assert {r["setting"]: r["from"] for r in shown["settings"]}["queue"] == "launch plan"

        await remote.set_signal(running, "go", 1)  # the first ends, and frees the queue's place
        assert (await running.wait(60)).phase == WorkflowPhase.SUCCEEDED
        assert (await waiting.wait(60)).phase == WorkflowPhase.SUCCEEDED, waiting.error
        assert await waiting.outputs() == {"o0": 2}
        alone = await remote.execute("queued_first", {}, name="alone", signals={"go": 3}, wait=True,
                                     timeout=60)
        assert alone.phase == WorkflowPhase.SUCCEEDED, alone.error
    finally:
        await remote.aclose()
