"""A server stopped while a map's items run, a console page follows the execution live and a
client watches it over gRPC: the stop logs no failure (no traceback from uvicorn cancelling the
page's stream at the end of the grace, nor from the database), ends the page's stream cleanly
well within the grace, and gives back the engine's lease, so a successor resumes at once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from pathlib import Path

import anyio
import httpx
import pytest

from tests.unit.console.served import BASE, launch, register
from wingspan._remote.client import AsyncRemote
from wingspan.core.config import Settings
from wingspan.core.model.execution import TaskPhase
from wingspan.server.serve import ApiServer

pytestmark = pytest.mark.slow

ITEMS = 400
#: long beside a clean stop (well under a second here): a stream left to the grace shows
GRACE = 15.0


def attempts_running(home: Path) -> int:
    """The map's item attempts stored as running (started, not ended): in rows, or in the map's
    aggregate (an item's first attempt's phase plus one, a byte each)."""
    with contextlib.closing(sqlite3.connect(home / "db" / "wingspan.sqlite")) as db:
        (count,) = db.execute("SELECT count(*) FROM task_executions WHERE phase = ?",
                              (int(TaskPhase.RUNNING),)).fetchone()
        aggregated: list[int] = [attempts.count(int(TaskPhase.RUNNING) + 1)
                                   for (attempts,) in db.execute("SELECT attempts FROM map_items")]
    return int(count) + sum(aggregated)


async def test_a_server_stopped_amid_a_map_logs_no_failure_and_gives_back_its_lease(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    home = tmp_path / "home"
    server = ApiServer(Settings(home=home, http_port=0, grpc_port=0), grace=GRACE)
    caplog.set_level(logging.WARNING)
    try:
        await server.start()
        async with httpx.AsyncClient(base_url=server.http_url, timeout=60) as http:
            await register(http)
            made = await launch(http, "workflows", "tests.unit.console.flows.retried",
                                {"marker": str(tmp_path / "flaky"), "items": str(list(range(ITEMS)))})
            assert made.status_code == 200, made.text
            name = made.json()["url"].rsplit("/", 1)[1]
            with anyio.fail_after(120):
                while attempts_running(home) < 20:  # noqa: ASYNC110 - a scrape has no event
                    await anyio.sleep(0.05)
            page_ready = anyio.Event()
            lines: list[str] = []

            async def follow_page() -> None:
                async with http.stream("GET", f"{BASE}/executions/{name}/live") as stream:
                    async for line in stream.aiter_lines():
                        lines.append(line)
                        if line == "event: ready":
                            page_ready.set()

            remote = AsyncRemote(server.grpc_address)
            watched: list[object] = []

            async def watch() -> None:
                async for event in remote.watch(name):
                    watched.append(event)

            page, watcher = asyncio.create_task(follow_page()), asyncio.create_task(watch())
            with anyio.fail_after(60):
                await page_ready.wait()
                while not watched:  # noqa: ASYNC110 - the watch is a task of this test
                    await anyio.sleep(0.01)
            assert attempts_running(home) >= 20
            started = time.monotonic()
            await server.stop()
            took = time.monotonic() - started
            # the page's stream ended by itself (a browser's EventSource connects again)
            with anyio.fail_after(10):
                await page
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await watcher
            await remote.aclose()
    finally:
        await server.stop()
        if server.engine is not None:
            for plugin in server.engine.registry.plugins:
                await plugin.aclose()
    failures = [f"{r.name} {r.levelname}: {r.getMessage()}" for r in caplog.records
                if r.levelno >= logging.ERROR or r.exc_info]
    assert failures == [], failures
    assert took < GRACE, f"the stop took {took:.1f} s: something waited for the grace"
    with contextlib.closing(sqlite3.connect(home / "db" / "wingspan.sqlite")) as db:
        owners = db.execute("SELECT owner FROM executions WHERE name = ?", (name,)).fetchall()
    assert owners == [("",)], owners
