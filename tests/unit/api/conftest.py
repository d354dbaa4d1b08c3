"""A live server (HTTP and gRPC on free loopback ports) on SQLite and a local blob folder."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from wingspan.core.config import Settings
from wingspan.server.serve import ApiServer

#: small, so that the size limits show with small messages
MAX_MESSAGE_BYTES = 256 * 1024


@pytest.fixture
async def api_server(tmp_path: Path) -> AsyncIterator[ApiServer]:
    """Without the engine: these tests write executions' events themselves."""
    settings = Settings(home=tmp_path / "home", http_port=0, grpc_port=0)
    async with ApiServer(settings, grace=2, max_message_bytes=MAX_MESSAGE_BYTES, engine=False) as server:
        yield server
