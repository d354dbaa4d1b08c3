"""In-process servers for the remote tests: without an engine (executions stay as created,
for tests of the API alone), or with one whose worker processes are stopped at the end."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from wingspan.core.config import Settings
from wingspan.server.serve import ApiServer


@asynccontextmanager
async def api_server(home: Path, *, engine: bool = False,
                     settings: Settings | None = None) -> AsyncIterator[ApiServer]:
    """A server on SQLite and a blob folder under ``home``, or on ``settings`` with that home."""
    settings = dataclasses.replace(settings or Settings(), home=home, http_port=0, grpc_port=0)
    running = ApiServer(settings, grace=2, engine=engine)
    try:
        async with running:
            yield running
    finally:
        # a stopping server leaves attempts to a successor (as pods outlive their controller);
        # a test has none, so the warm worker processes go too
        if running.engine is not None:
            for plugin in running.engine.registry.plugins:
                close = getattr(plugin, "close", None)
                if close is not None:
                    close()
