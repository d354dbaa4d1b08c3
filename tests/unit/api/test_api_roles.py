"""A role of the server (engine, scheduler, sender) that stops by itself while serving stops the
whole server with its cause: never a server that quietly runs without its engine."""

from __future__ import annotations

import asyncio
import gc
import logging
from pathlib import Path

import pytest

from wingspan.core.config import Settings
from wingspan.server.serve import ApiServer, RoleFailedError, serve_forever


async def test_an_engine_that_dies_stops_the_server_with_its_cause(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    settings = Settings(home=tmp_path, http_port=0, grpc_port=0)

    async def failing_engine() -> None:
        raise RuntimeError("the disk caught fire")

    with caplog.at_level(logging.ERROR, logger="wingspan.server"):
        server = ApiServer(settings, grace=1)
        await server.start()
        try:
            # a fault inside a role's loop, run under the same supervision as the real ones
            crash = server.supervise("engine", failing_engine())
            await asyncio.wait_for(server.failed.wait(), 10)
            assert crash.done()
        finally:
            await server.stop()
    assert server.failure == "the engine stopped: RuntimeError: the disk caught fire"
    assert any("the engine stopped" in r.getMessage() for r in caplog.records)


async def test_serve_forever_ends_with_the_roles_failure(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, http_port=0, grpc_port=0)

    async def failing_loop() -> None:
        raise RuntimeError("boom")

    def ready(server: ApiServer) -> None:
        server.supervise("scheduler", failing_loop())

    with pytest.raises(RoleFailedError, match="the scheduler stopped: RuntimeError: boom"):
        await asyncio.wait_for(serve_forever(settings, on_ready=ready, grace=1), 30)


async def test_a_stop_is_not_a_failure(tmp_path: Path) -> None:
    server = ApiServer(Settings(home=tmp_path, http_port=0, grpc_port=0), grace=1)
    await server.start()
    await server.stop()
    assert not server.failed.is_set()


async def test_a_served_server_keeps_its_start_up_objects_out_of_full_collections(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, http_port=0, grpc_port=0)
    frozen: list[int] = []

    async def stopping() -> None:
        raise RuntimeError("stop here")

    def ready(server: ApiServer) -> None:
        frozen.append(gc.get_freeze_count())
        server.supervise("scheduler", stopping())

    with pytest.raises(RoleFailedError, match="stop here"):
        await asyncio.wait_for(serve_forever(settings, on_ready=ready, grace=1), 30)
    assert frozen and frozen[0] > 10_000, frozen
    assert gc.get_freeze_count() == 0  # given back once it stopped
