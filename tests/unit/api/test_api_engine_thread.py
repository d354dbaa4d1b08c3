"""A server with both the API and the engine runs the engine on a thread and loop of its own: a long
synchronous stretch of the engine holds no HTTP call, executions still run and are followed at
once, and an engine that dies there still stops the whole server with its cause."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.unit.console.served import TERMINAL, launch, phases_until, register
from wingspan.core.config import Settings
from wingspan.server.engine.worker import EngineWorker
from wingspan.server.serve import ApiServer

HOLD_S = 3.0


async def test_the_api_answers_while_the_engines_loop_is_held(tmp_path: Path) -> None:
    server = ApiServer(Settings(home=tmp_path / "home", http_port=0, grpc_port=0), grace=1)
    async with server, httpx.AsyncClient(base_url=server.http_url, timeout=30) as http:
        assert server.engine_thread is not None and server.engine_thread.loop is not None
        assert server.engine_thread.loop is not asyncio.get_running_loop()
        held = threading.Event()

        def hold() -> None:  # what a big map's first batch of events did to the shared loop
            held.set()
            time.sleep(HOLD_S)

        server.engine_thread.loop.call_soon_threadsafe(hold)
        assert await asyncio.to_thread(held.wait, 10)
        start = time.perf_counter()
        response = await http.get("/api/v1/projects")
        answered = time.perf_counter() - start
        assert response.status_code == 200, response.text
        # held behind the engine, the call would take the rest of HOLD_S; a loaded machine still
        # answers a list of projects well within half of it
        assert answered < HOLD_S / 2, f"the API answered after {answered:.2f} s, behind the engine"


@pytest.mark.slow
async def test_an_execution_runs_on_the_engines_thread_and_its_page_follows_it(tmp_path: Path) -> None:
    server = ApiServer(Settings(home=tmp_path / "home", http_port=0, grpc_port=0), grace=1)
    try:
        async with server, httpx.AsyncClient(base_url=server.http_url, timeout=60) as http:
            await register(http)
            made = await launch(http, "workflows", "tests.unit.console.flows.chain", {"x": "1", "y": "2"})
            assert made.status_code == 200, made.text
            name = made.json()["url"].rsplit("/", 1)[1]
            # the page's live stream hears of the engine's events, stored by another loop's services
            assert await phases_until(http, name, TERMINAL, within=120) == "succeeded"
    finally:
        assert server.engine is not None
        for plugin in server.engine.registry.plugins:
            await plugin.aclose()


async def test_an_engine_that_dies_on_its_thread_stops_the_server_with_its_cause(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    started = threading.Event()

    async def failing_run(self: EngineWorker) -> None:
        started.set()
        raise RuntimeError("the disk caught fire")

    # a fault inside the engine's loop on its thread (the real loop cannot be made to fail on cue)
    monkeypatch.setattr(EngineWorker, "run", failing_run)
    with caplog.at_level(logging.ERROR, logger="wingspan.server"):
        server = ApiServer(Settings(home=tmp_path / "home", http_port=0, grpc_port=0), grace=1)
        await server.start()
        try:
            await asyncio.wait_for(server.failed.wait(), 10)
        finally:
            await server.stop()
    assert started.is_set()
    assert server.failure == "the engine stopped: RuntimeError: the disk caught fire"
    assert any("the engine stopped" in r.getMessage() for r in caplog.records)


async def test_a_stopped_server_ends_the_engines_thread(tmp_path: Path) -> None:
    server = ApiServer(Settings(home=tmp_path / "home", http_port=0, grpc_port=0), grace=1)
    await server.start()
    thread = server.engine_thread
    assert thread is not None and thread.alive
    await server.stop()
    assert not thread.alive and not server.failed.is_set()
