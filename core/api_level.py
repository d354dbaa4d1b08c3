"""The API level clients and servers compare: bumped on an incompatible API change.

The server reports it in GetVersion; a client whose level differs warns
(:func:`mismatch` says how), since calls may then fail in ways that name no cause.
"""

from __future__ import annotations

__all__ = ["API_LEVEL", "mismatch"]

API_LEVEL = 1


def mismatch(server_level: int, server_version: str, client_version: str) -> str | None:
    """A sentence for the user when the server speaks another API level, else None."""
    if server_level == API_LEVEL:
        return None
    newer = "newer" if server_level > API_LEVEL else "older"
    return (f"the server (Wingspan {server_version or '?'}, API level {server_level}) is {newer} than "
            f"this client (Wingspan {client_version}, API level {API_LEVEL}); upgrade the "
            f"{'client' if newer == 'newer' else 'server'} to match")
