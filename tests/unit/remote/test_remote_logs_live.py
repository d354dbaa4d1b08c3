"""Logs of an attempt while it runs, through a server whose engine runs it: what the task
prints reaches a follower before the task ends."""

from __future__ import annotations

from pathlib import Path

import anyio

from tests.unit.remote.servers import api_server
from wingspan._remote.client import AsyncRemote

WAITS = '''
import os
import time
from wingspan import task, workflow

@task
def waits(path: str) -> str:
    print("ready", flush=True)
    deadline = time.time() + 15
    while not os.path.exists(path) and time.time() < deadline:
        time.sleep(0.05)
    print("released", flush=True)
    return "released" if os.path.exists(path) else "nobody came"

@workflow
def waiting(path: str) -> str:
    return waits(path=path)
'''


async def test_a_follower_reads_what_a_running_task_prints(tmp_path: Path) -> None:
    code = tmp_path / "code"
    code.mkdir()
    (code / "live_logs.py").write_text(WAITS)
    release = tmp_path / "release"
    async with api_server(tmp_path / "home", engine=True) as server:
        client = AsyncRemote(server.grpc_address)
        try:
            await client.register(code)
            run = await client.execute("live_logs.waiting", {"path": str(release)})
            seen = b""
            with anyio.fail_after(60):
                async for chunk in client.logs(run, "n0", follow=True):
                    seen += chunk.data
                    if b"ready" in seen and not release.exists():
                        release.write_text("go")  # only a follower that saw "ready" releases it
            await run.wait(timeout=60)
            assert seen == b"ready\nreleased\n"
            assert await run.outputs() == {"o0": "released"}
        finally:
            await client.aclose()
