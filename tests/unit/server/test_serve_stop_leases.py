"""Through `wingspan serve`: a replica stopped by SIGTERM gives back the leases of what it ran,
so a successor under another replica id resumes them at once (not after the lease runs out),
following the attempt the first left running instead of running it again."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import anyio
import httpx
import pytest

from tests.unit.api.served import run_remote, wingspan_serve
from tests.unit.server.test_engine_metrics_served import (
    FLOWS,
    Served,
    open_fifo,
    value,
    wait_until_metric,
)
from wingspan._remote.client import AsyncRemote
from wingspan.core.model.execution import WorkflowPhase

pytestmark = pytest.mark.slow

#: far longer than the test waits: a successor that waits for the lease to run out fails it
LEASE = "600"


async def test_a_stopped_replica_gives_back_its_leases_and_a_successor_resumes_at_once(
        tmp_path: Path) -> None:
    env = {"WINGSPAN_HOME": str(tmp_path / "home")}
    flows = tmp_path / "project" / "metered_flows.py"
    flows.parent.mkdir()
    flows.write_text(FLOWS)
    fifo = tmp_path / "go"
    os.mkfifo(fifo)
    async with wingspan_serve("--replica-id", "first", "--lease-seconds", LEASE, env=env) as (
            first, http_url, host, port):
        code, name, err = await run_remote(f"{host}:{port}", flows, "held", "--fifo", str(fifo), "--no-wait")
        assert code == 0, err
        async with httpx.AsyncClient(base_url=http_url, timeout=30) as http:
            await wait_until_metric(
                Served(http, "", flows),
                lambda s: value(s, "wingspan_attempts_running", plugin="local-process") == 1,
                "the attempt waiting on the FIFO never ran")
        # its body runs in the worker (stopped now, the attempt would not have reached it); its
        # handle, recorded as it started (the metric counts it only then), may still wait for its
        # write: the stop stores it before it lets go, or no successor could follow the attempt
        with anyio.fail_after(60):
            while not fifo.with_name("go.started").exists():  # noqa: ASYNC110 - a file has no event
                await anyio.sleep(0.05)
        first.process.send_signal(signal.SIGTERM)
        with anyio.fail_after(60):
            assert await first.process.wait() == 0, "".join(first.lines)
    second = wingspan_serve("--replica-id", "second", "--lease-seconds", LEASE, env=env)
    async with second as (_, _, host, port):
        # the attempt the first replica started goes on in its worker, left running
        await open_fifo(fifo)
        remote = AsyncRemote(f"{host}:{port}")
        try:
            execution = await (await remote.execution(name)).wait(timeout=60)
            assert execution.phase == WorkflowPhase.SUCCEEDED, execution.error
            assert await execution.outputs() == {"o0": "GO"}
            nodes = await remote.nodes(name)
        finally:
            await remote.aclose()
    # followed, not run again: the task that read the FIFO had one attempt
    assert [node["attempts"] for node in nodes if node["name"] == "wait_for_go"] == [1], nodes
