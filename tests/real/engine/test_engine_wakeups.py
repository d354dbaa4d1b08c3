"""An engine replica hears at once what another process wrote (PostgreSQL LISTEN/NOTIFY): an
execution created, one terminated, a signal set. The replica here polls only once a minute,
so each test would take a minute without the push; each must be acted on within seconds.
Its listening connection, cut by the database, is made again and hears again."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import anyio
import anyio.to_thread
import asyncpg
import pytest

from tests.real.engine.replica import Replica
from tests.unit.api.served import wingspan_serve
from wingspan._remote.sync import Remote

pytestmark = [pytest.mark.real, pytest.mark.slow]

FLOW = Path(__file__).with_name("wakeflow.py")
#: the replica's polling: far beyond what the tests wait, so only a push can meet them
POLL_SECONDS = 60
#: how long a push may take here, on a loaded 2-core machine (about 10-50 ms measured idle)
PROMPTLY = 5.0
LISTENER = "SELECT pid FROM pg_stat_activity WHERE application_name = 'wingspan-wakeups' AND datname = $1"


@dataclass
class Pair:
    remote: Remote
    db: asyncpg.Connection
    database: str
    replica: Replica
    module: str

    async def execute(self, workflow: str, inputs: dict[str, object] | None = None) -> tuple[str, int]:
        """Starts ``workflow`` of the flow module; (its name, its key)."""
        entity = f"{self.module}.{workflow}"
        execution = await anyio.to_thread.run_sync(lambda: self.remote.execute(entity, inputs or {}))
        key = await self.db.fetchval("SELECT id FROM executions WHERE name = $1", execution.name)
        return execution.name, int(key)

    async def until(self, query: str, *args: object, within: float = PROMPTLY) -> float:
        """Seconds until ``query`` returns a true value (fails after ``within``)."""
        started = time.monotonic()
        with anyio.fail_after(within, reason=f"not within {within} s: {query} {args}"):
            while True:
                if await self.db.fetchval(query, *args):
                    break
                await anyio.sleep(0.01)
        return time.monotonic() - started

    async def listening(self, besides: int = 0) -> int:
        """The pid of the replica's listening connection (other than ``besides``), once it is there."""
        with anyio.fail_after(30):
            while True:
                pid = await self.db.fetchval(LISTENER, self.database)
                if pid is not None and pid != besides:
                    return int(pid)
                await anyio.sleep(0.05)


@asynccontextmanager
async def api_and_engine(database: tuple[str, str], tmp_path: Path) -> AsyncIterator[Pair]:
    """An API process and an engine replica process on one PostgreSQL database."""
    url, dsn = database
    code, blobs = tmp_path / "code", tmp_path / "blobs"
    code.mkdir()
    blobs.mkdir()
    # a module name of its own: registration imports it into this process, once per name
    module = f"wakeflow_{uuid.uuid4().hex[:8]}"
    (code / f"{module}.py").write_text(FLOW.read_text())
    env = {"WINGSPAN_DB_URL": url}
    shared = ["--storage", blobs.as_uri()]
    replica = Replica("engine-0", [*shared, "--poll-seconds", str(POLL_SECONDS)],
                      {**env, "WINGSPAN_HOME": str(tmp_path / "engine")})
    db = await asyncpg.connect(dsn, timeout=30)
    try:
        async with wingspan_serve("--role", "api", *shared,
                                  env={**env, "WINGSPAN_HOME": str(tmp_path / "api")}) as (_, _, host, port):
            await replica.start()
            remote = Remote(endpoint=f"{host}:{port}")
            await anyio.to_thread.run_sync(
                lambda: remote.register(code, project="default", domain="development"))
            pair = Pair(remote, db, dsn.rsplit("/", 1)[1], replica, module)
            await pair.listening()
            yield pair
    finally:
        await db.close()
        await replica.kill()
    assert not replica.warnings(), "".join(replica.lines)


async def test_a_replica_starts_an_execution_created_through_another_process_at_once(
    database: tuple[str, str], tmp_path: Path
) -> None:
    async with api_and_engine(database, tmp_path) as pair:
        for _ in range(3):  # every creation wakes it, not only the first
            _, key = await pair.execute("one", {"x": 2})
            waited = await pair.until("SELECT phase = 3 FROM executions WHERE id = $1", key)
            print(f"created -> succeeded in {waited * 1000:.0f} ms")


async def test_a_replica_aborts_an_execution_terminated_through_another_process_at_once(
    database: tuple[str, str], tmp_path: Path
) -> None:
    async with api_and_engine(database, tmp_path) as pair:
        name, key = await pair.execute("long")
        await pair.until("SELECT count(*) FROM task_executions WHERE execution_id = $1 AND phase = 2", key)
        await anyio.to_thread.run_sync(lambda: pair.remote.terminate(name, "enough"))
        waited = await pair.until("SELECT phase = 7 FROM executions WHERE id = $1", key)
        print(f"terminated -> aborted in {waited * 1000:.0f} ms")


async def test_a_replica_passes_a_gate_whose_signal_another_process_set_at_once(
    database: tuple[str, str], tmp_path: Path
) -> None:
    async with api_and_engine(database, tmp_path) as pair:
        name, key = await pair.execute("gated")
        await pair.until("SELECT count(*) FROM node_executions WHERE execution_id = $1 AND phase = 8", key)
        await anyio.to_thread.run_sync(lambda: pair.remote.set_signal(name, "go", 41))
        waited = await pair.until("SELECT phase = 3 FROM executions WHERE id = $1", key)
        print(f"signal set -> succeeded in {waited * 1000:.0f} ms")


async def test_a_replica_listens_again_after_the_database_cut_its_connection(
    database: tuple[str, str], tmp_path: Path
) -> None:
    async with api_and_engine(database, tmp_path) as pair:
        first = await pair.listening()
        assert await pair.db.fetchval("SELECT pg_terminate_backend($1)", first)
        await pair.listening(besides=first)
        _, key = await pair.execute("one", {"x": 2})
        await pair.until("SELECT phase = 3 FROM executions WHERE id = $1", key)
