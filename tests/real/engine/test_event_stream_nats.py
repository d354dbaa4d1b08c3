"""The outward event stream on a real NATS JetStream: `wingspan serve` (every role, on PostgreSQL)
runs a 200-node workflow and is SIGKILLed in the middle; another starts on the same database and
finishes it. A consumer on the broker receives every event the server stored, each at least once,
in the order stored (so in order per execution): counted against the events table, none missing,
none invented, duplicates counted."""

from __future__ import annotations

import json
import os
import signal
import uuid
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import asyncpg
import nats
import pytest

from tests.unit.api.served import wingspan_serve
from wingspan._remote.sync import Remote

pytestmark = [pytest.mark.real, pytest.mark.slow]

FLOW = Path(__file__).with_name("replicaflow.py")
MAP_ITEMS = 100
FAN = 100
# the server is killed once this many events of the execution are stored (of about 1,300)
KILL_AFTER_EVENTS = 400


async def _stored(db: asyncpg.Connection, key: int) -> list[str]:
    rows = await db.fetch("SELECT key FROM events WHERE execution_id = $1 ORDER BY id", key)
    return [f"{key}-{row['key']}" for row in rows]


async def test_a_broker_consumer_gets_every_event_of_a_200_node_run_across_a_sigkill(
    database: tuple[str, str], nats_env: dict[str, str], tmp_path: Path
) -> None:
    url, dsn = database
    counts, code, blobs = tmp_path / "counts", tmp_path / "code", tmp_path / "blobs"
    for folder in (counts, code, blobs):
        folder.mkdir()
    (code / "streamflow.py").write_text(FLOW.read_text())
    tag = uuid.uuid4().hex[:10]
    stream, prefix = f"WINGSPAN_TEST_{tag}", f"wingspan-test.{tag}"
    env = {"CRASH_COUNTS": str(counts), "CRASH_TASK_SECONDS": "0.05", "WINGSPAN_HOME": str(tmp_path / "home"),
           "WINGSPAN_DB_URL": url, "WINGSPAN_EVENT_SINKS": "nats",
           "WINGSPAN_PLUGINS__NATS__SERVERS": nats_env["WINGSPAN_TEST_NATS_URL"],
           "WINGSPAN_PLUGINS__NATS__STREAM": stream, "WINGSPAN_PLUGINS__NATS__SUBJECT_PREFIX": prefix}
    args = ["--storage", blobs.as_uri(), "--lease-seconds", "2"]

    received: list[dict[str, Any]] = []
    arrived = [anyio.Event()]  # set (and replaced) at each message the consumer gets
    broker = await nats.connect(nats_env["WINGSPAN_TEST_NATS_URL"])
    jetstream = broker.jetstream()
    await jetstream.add_stream(name=stream, subjects=[f"{prefix}.>"])

    async def consume(message: Any) -> None:
        received.append({"subject": message.subject, "event": json.loads(message.data),
                         "headers": dict(message.headers or {})})
        arrived[0].set()
        arrived[0] = anyio.Event()

    subscription = await jetstream.subscribe(f"{prefix}.>", cb=consume, ordered_consumer=True)
    db = await asyncpg.connect(dsn, timeout=30)
    try:
        async with wingspan_serve(*args, env=env) as (first, _, host, port):
            remote = Remote(endpoint=f"{host}:{port}")
            await anyio.to_thread.run_sync(
                lambda: remote.register(code, project="default", domain="development"))
            execution = await anyio.to_thread.run_sync(
                lambda: remote.execute("streamflow.big", {"items": list(range(MAP_ITEMS)), "n": FAN}))
            name = execution.name
            key = await db.fetchval("SELECT id FROM executions WHERE name = $1", name)
            with anyio.fail_after(120, reason="the execution did not get far enough to be killed in 120 s"):
                while True:  # the database offers no event to wait on: polled
                    stored = await db.fetchval("SELECT count(*) FROM events WHERE execution_id = $1", key)
                    if stored >= KILL_AFTER_EVENTS:
                        break
                    await anyio.sleep(0.05)
            os.kill(first.process.pid, signal.SIGKILL)
            await first.process.wait()
            at_kill = {
                "stored": await db.fetchval("SELECT count(*) FROM events WHERE execution_id = $1", key),
                "in the outbox": await db.fetchval("SELECT count(*) FROM event_outbox"),
                "received": len(received),
            }
        async with wingspan_serve(*args, env=env) as (second, _, host, port):
            with anyio.fail_after(180, reason="the execution did not end within 180 s of the restart"):
                while True:
                    phase = await db.fetchval("SELECT phase FROM executions WHERE id = $1", key)
                    if phase in (3, 4, 5, 7):
                        break
                    await anyio.sleep(0.2)
            assert phase == 3, "".join(second.lines[-60:])
            expected = await _stored(db, key)
            with anyio.fail_after(60, reason="the broker's consumer did not get every stored event in 60 s"):
                while not set(expected) <= {r["event"]["id"] for r in received}:
                    await arrived[0].wait()
            # the publisher deletes what it sent after the broker's acks, in the same round: the
            # consumer can hold the last events a moment before their rows are gone
            with anyio.fail_after(30, reason="the outbox was not emptied within 30 s of the last event"):
                while True:
                    left = await db.fetchval("SELECT count(*) FROM event_outbox")
                    if left == 0:
                        break
                    await anyio.sleep(0.1)
            published = await db.fetchrow("SELECT published, dead, last_error FROM event_publishers "
                                          "WHERE sink = 'nats'")
    finally:
        await subscription.unsubscribe()
        await jetstream.delete_stream(stream)
        await broker.close()
        await db.close()

    ids = [r["event"]["id"] for r in received]
    first_seen = list(dict.fromkeys(ids))
    # every stored event, nothing else, in the order stored; repeats only of events already seen
    assert first_seen == expected
    duplicates = len(ids) - len(first_seen)
    assert published is not None
    assert left == 0 and published["dead"] == 0, published
    assert len(expected) > 1000  # about 205 nodes, each with node and attempt phases
    for r in received:
        event = r["event"]
        assert event["specversion"] == "1.0" and event["subject"] == f"default/development/{name}"
        assert r["subject"] == f"{prefix}.default.development.{name}"
        assert r["headers"]["Nats-Msg-Id"] == event["id"]
    assert received[-1]["event"]["type"] == "io.wingspan.execution.phase"
    assert received[-1]["event"]["data"]["phase"] == "SUCCEEDED"
    print(f"{len(expected)} events stored; at the SIGKILL {at_kill}; the consumer received {len(ids)} "
          f"({duplicates} duplicates: a resend after the kill is dropped by JetStream's de-duplication "
          f"on Nats-Msg-Id); the publishers recorded {published['published']} as delivered")
