"""The server's part of the ``wingspan`` command line, contributed the way plugins contribute
theirs (the ``wingspan_cli_commands`` hook, entry point ``server`` of the group ``wingspan``),
so the CLI names no server module and a client-only install simply has no ``serve``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wingspan.core.plugins import hookimpl

__all__ = ["wingspan_cli_commands"]


@hookimpl
def wingspan_cli_commands() -> Mapping[str, Any]:
    return {"serve": "wingspan.server.cli:serve", "users": "wingspan.server.users_cli:users",
            "retention": "wingspan.server.retention_cli:retention"}
