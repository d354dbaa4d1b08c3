"""A live server with its engine per test, and an HTTP client with the console's entities registered."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.unit.console.served import register
from wingspan.core.config import Settings
from wingspan.server.serve import ApiServer


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[ApiServer]:
    settings = Settings(home=tmp_path / "home", http_port=0, grpc_port=0)
    running = ApiServer(settings, grace=2)
    try:
        async with running:
            yield running
    finally:  # the warm worker processes of the engine's local-process target, once the engine stopped
        for plugin in running.engine.registry.plugins:
            await plugin.aclose()


@pytest.fixture
async def http(server: ApiServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.http_url, timeout=30) as client:
        await register(client)
        yield client
