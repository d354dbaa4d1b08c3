"""Several engine replicas on one PostgreSQL: SIGKILLed at random moments (and restarted each
time under a new name, so that leases are taken over, not taken back), they still complete
a 200-node workflow (a map and a dynamic fan-out); no node whose success was recorded runs
again, an attempt interrupted with its replica is a recorded failed attempt followed by a
retry (never a silent duplicate), and the execution's events are numbered 1..N without gaps
or repeats whichever replica wrote them."""

from __future__ import annotations

import random
from pathlib import Path

import anyio
import anyio.to_thread
import asyncpg
import pytest

from tests.real.engine.replica import Replica
from tests.unit.api.served import wingspan_serve
from wingspan._remote.sync import Remote
from wingspan.protos import v1
from wingspan.server.services.map_items import PROMOTED

pytestmark = [pytest.mark.real, pytest.mark.slow]

FLOW = Path(__file__).with_name("replicaflow.py")
LEASE_SECONDS = 2.0
REPLICAS = 2
KILLS = 4
MAP_ITEMS = 100
FAN = 100
async def test_engine_replicas_killed_at_random_complete_a_200_node_workflow(
    database: tuple[str, str], tmp_path: Path
) -> None:
    url, dsn = database
    counts, code, blobs = tmp_path / "counts", tmp_path / "code", tmp_path / "blobs"
    for folder in (counts, code, blobs):
        folder.mkdir()
    (code / "replicaflow.py").write_text(FLOW.read_text())
    # the database URL holds a password: the environment's, never a flag
    env = {"CRASH_COUNTS": str(counts), "CRASH_TASK_SECONDS": "0.1", "WINGSPAN_HOME": str(tmp_path / "home"),
           "WINGSPAN_DB_URL": url}
    shared = ["--storage", blobs.as_uri()]
    engine_args = [*shared, "--lease-seconds", str(LEASE_SECONDS)]
    seed = random.randrange(2**32)
    chance = random.Random(seed)
    print(f"random seed {seed}")

    db = await asyncpg.connect(dsn, timeout=30)
    replicas: list[Replica] = []
    retired: list[Replica] = []
    try:
        api_env = {**env, "WINGSPAN_HOME": str(tmp_path / "api")}
        async with wingspan_serve("--role", "api", *shared, env=api_env) as (_, _, host, port):
            for index in range(REPLICAS):
                home = str(tmp_path / f"engine{index}")
                replica = Replica(f"engine-{index}.0", engine_args, {**env, "WINGSPAN_HOME": home})
                await replica.start()
                replicas.append(replica)
            remote = Remote(endpoint=f"{host}:{port}")
            await anyio.to_thread.run_sync(
                lambda: remote.register(code, project="default", domain="development"))
            execution = await anyio.to_thread.run_sync(
                lambda: remote.execute("replicaflow.big", {"items": list(range(MAP_ITEMS)), "n": FAN}))
            name = execution.name
            key = await db.fetchval("SELECT id FROM executions WHERE name = $1", name)

            kills = 0
            with anyio.fail_after(150, reason="the execution did not complete within 150 s"):
                while True:
                    # a random moment; the replica then holding the execution is killed
                    await anyio.sleep(chance.uniform(0.5, 3.0))
                    row = await db.fetchrow("SELECT phase, owner FROM executions WHERE id = $1", key)
                    assert row is not None
                    if row["phase"] in (3, 4, 5, 7):
                        break
                    if kills >= KILLS:
                        continue
                    victims = [r for r in replicas if r.name == row["owner"]] or [chance.choice(replicas)]
                    victim = victims[0]
                    await victim.kill()
                    kills += 1
                    stem, generation = victim.name.rsplit(".", 1)
                    restarted = Replica(f"{stem}.{int(generation) + 1}", victim.args, victim.env)
                    replicas[replicas.index(victim)] = restarted
                    retired.append(victim)
                    await restarted.start()
            assert kills == KILLS, f"the execution ended after {kills} kills: make the workflow longer"
            finished = await anyio.to_thread.run_sync(lambda: remote.execution(name))
            if row["phase"] != 3:  # how it failed: the replicas' logs
                for replica in replicas + retired:
                    print(f"---- {replica.name}\n" + "".join(replica.lines[-60:]))
            assert row["phase"] == 3, (row["phase"], finished.error)
            expected = sum(x * x for x in range(MAP_ITEMS)) + sum(i + 1 for i in range(FAN))
            assert finished.outputs == {"o0": expected}, finished.error

            # events: each number once, whichever replica wrote them; the map's items' events are
            # folded into its aggregate (map_items) or, once an item was retried, into its rows (no
            # event rows), so a number a replica gave one of them is the last_sequence of the
            # aggregate or of a row, and no later replica numbers an event the same
            sequences = [r[0] for r in await db.fetch(
                "SELECT sequence FROM events WHERE execution_id = $1 ORDER BY sequence", key)]
            assert sequences[0] == 1
            folded = [r[0] for r in await db.fetch(
                "SELECT last_sequence FROM node_executions WHERE execution_id = $1 AND node_id LIKE 'n0/%' "
                "UNION ALL SELECT last_sequence FROM task_executions WHERE execution_id = $1 "
                "AND node_id LIKE 'n0/%' UNION ALL SELECT last_sequence FROM map_items "
                "WHERE execution_id = $1 AND node_id = 'n0'", key)]
            assert await db.fetchval(
                "SELECT count(*) FROM events WHERE execution_id = $1 AND node_id LIKE 'n0/%'", key) == 0
            numbered = sequences + [number for number in folded if number]
            assert len(numbered) == len(set(numbered)), "a sequence number was given twice"

            attempts: dict[str, dict[int, tuple[int, bytes | None]]] = {}
            query = "SELECT node_id, attempt, phase, error_bytes FROM task_executions WHERE execution_id = $1"
            for r in await db.fetch(query, key):
                node = r["node_id"].replace("/", "_")
                attempts.setdefault(node, {})[r["attempt"]] = (r["phase"], r["error_bytes"])
            # an item with no rows of its own: its first attempt's phase (plus one) in the aggregate
            aggregate = await db.fetchrow(
                "SELECT phases, attempts FROM map_items WHERE execution_id = $1", key)
            assert aggregate is not None and len(aggregate["phases"]) == MAP_ITEMS
            for index, byte in enumerate(aggregate["attempts"]):
                if byte not in (0, PROMOTED):
                    assert f"n0_{index}" not in attempts, "an item both aggregated and in rows"
                    attempts[f"n0_{index}"] = {0: (byte - 1, None)}
            ran = {path.name: [int(n) for n in path.read_text().split()] for path in counts.iterdir()}
            assert len(ran) == MAP_ITEMS + FAN + 4  # every node with a side effect ran (fan too)
            interrupted = 0
            for node, numbers in ran.items():
                recorded = attempts.get(node, {})
                succeeded = [n for n, (phase, _) in recorded.items() if phase == int(v1.TaskPhase.SUCCEEDED)]
                assert len(succeeded) == 1, (node, recorded)
                # no attempt ran twice (a silent duplicate) and none ran after the recorded success
                assert len(numbers) == len(set(numbers)), (node, numbers)
                assert max(numbers) <= succeeded[0], (node, numbers, succeeded)
                # every attempt that ran is recorded; every recorded failure before the success is
                # an interrupted attempt (the tasks themselves never fail)
                assert set(numbers) <= set(recorded), (node, numbers, sorted(recorded))
                for number, (phase, error) in recorded.items():
                    if number != succeeded[0]:
                        failed = (int(v1.TaskPhase.FAILED), int(v1.TaskPhase.RETRYABLE_FAILURE))
                        assert phase in failed, (node, number, phase)
                        assert error is not None and b"Interrupted" in error, (node, number, error)
                        interrupted += 1
            # the kills met attempts recorded as started (queued for a worker, or starting) without
            # a handle yet: each ends a recorded failure, retried
            assert interrupted > 0
            print(f"{kills} kills; {interrupted} interrupted attempts retried; {len(sequences)} events")
    finally:
        await db.close()
        for replica in replicas + retired:
            await replica.kill()
    for replica in replicas + retired:
        assert not replica.warnings(), "".join(replica.lines)
