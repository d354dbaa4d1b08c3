"""``PrestoConfig``: the schema of the plugin's ``[plugins.presto]`` table (or its
``WINGSPAN_PLUGINS__PRESTO__<FIELD>`` variables; tables there are JSON)."""

from __future__ import annotations

import dataclasses

__all__ = ["PLUGIN", "PrestoConfig"]

PLUGIN = "presto"


@dataclasses.dataclass(frozen=True)
class PrestoConfig:
    """Where the queries go and as whom."""

    # coordinators: the Trino one for TrinoTask, the Presto one for PrestoTask
    trino_url: str = ""
    presto_url: str = ""
    # who queries, when a task names no user
    user: str = "wingspan"
    # authentication: a password (HTTP basic, with ``user``) or a JWT (bearer); at most one
    password: str = ""
    jwt: str = ""
    # a PEM file of the certificate authority that signed the coordinator's TLS certificate
    # (empty: the system's)
    ca_file: str = ""
    # SQLTask's databases by name: SQLAlchemy URLs (postgresql+asyncpg://, sqlite+aiosqlite://,
    # duckdb:///...), so that no task carries a password
    connections: dict[str, str] = dataclasses.field(default_factory=dict)
    # rows per Parquet row group: how many rows the plugin holds at once
    batch_rows: int = 10_000
    # seconds one HTTP request to the coordinator may take
    request_timeout: float = 30.0
