"""Through `wingspan serve`: with the webhook event sink, every event the server stores reaches a
loopback receiver as a CloudEvent (structured mode of the HTTP binding), in the order stored,
after the receiver's first refusals were retried; a sink name nothing provides stops the start."""

from __future__ import annotations

import asyncio
import sqlite3
import sys
from pathlib import Path

import anyio.to_thread
import pytest

from tests.unit.api.served import wingspan_serve
from tests.unit.server.receivers import Receiver
from wingspan._remote.client import AsyncRemote

pytestmark = pytest.mark.slow

FLOW = '''
from wingspan import task, workflow


@task
def double(x: int) -> int:
    return 2 * x


@workflow
def twice(x: int) -> int:
    return double(x=double(x=x))
'''
TYPES = {"workflow": "io.wingspan.execution.phase", "node": "io.wingspan.node.phase",
         "task": "io.wingspan.task.phase"}


def stored_events(database: Path, name: str) -> list[tuple[str, str, int]]:
    """The execution's stored events in the order stored: (CloudEvent id, kind, sequence)."""
    with sqlite3.connect(database) as db:
        (key,) = db.execute("SELECT id FROM executions WHERE name = ?", (name,)).fetchone()
        rows = db.execute("SELECT key, kind, sequence FROM events WHERE execution_id = ? ORDER BY id",
                          (key,)).fetchall()
    return [(f"{key}-{event_key}", kind, sequence) for event_key, kind, sequence in rows]


async def test_every_stored_event_reaches_the_webhook_in_order_after_retries(tmp_path: Path) -> None:
    (tmp_path / "twice.py").write_text(FLOW)
    home = tmp_path / "home"
    # the receiver refuses the first two deliveries as an overloaded service would
    with Receiver(failures=2, status=503) as receiver:
        env = {"WINGSPAN_EVENT_SINKS": "webhook", "WINGSPAN_EVENT_WEBHOOK_URL": f"{receiver.url}/events",
               "WINGSPAN_EVENT_SOURCE": "/wingspan/test"}
        async with wingspan_serve("--home", str(home), env=env) as (_, _, host, port):
            remote = AsyncRemote(f"{host}:{port}")
            try:
                await remote.register(tmp_path / "twice.py")
                run = await remote.execute("twice.twice", {"x": 3})
                done = await run.wait(timeout=120)
                assert done.phase.name == "SUCCEEDED"
            finally:
                await remote.aclose()
            expected = stored_events(home / "db" / "wingspan.sqlite", run.id.name)
            got = await anyio.to_thread.run_sync(receiver.wait_for, len(expected) + 2, 60.0)

    assert len(expected) >= 8  # the workflow's and both nodes' and attempts' phases
    refused, delivered = got[:2], got[2:]
    # a refused event is sent again, and nothing after it goes out first
    assert [r["json"]["id"] for r in refused] == [delivered[0]["json"]["id"]] * 2
    assert [r["json"]["id"] for r in delivered] == [event_id for event_id, _, _ in expected]
    for request, (_, kind, sequence) in zip(delivered, expected, strict=True):
        event = request["json"]
        assert request["path"] == "/events"
        assert request["headers"]["content-type"].startswith("application/cloudevents+json")
        assert event["specversion"] == "1.0"
        assert event["source"] == "/wingspan/test"
        assert event["type"] == TYPES[kind]
        assert event["subject"] == f"default/development/{run.id.name}"
        assert event["time"].endswith("Z")
        data = event["data"]
        assert (data["project"], data["domain"], data["name"]) == ("default", "development", run.id.name)
        assert data["sequence"] == sequence
        assert (data["node"] is None) == (kind == "workflow")
        assert (data["attempt"] is not None) == (kind == "task")
    phases = [r["json"]["data"]["phase"] for r in delivered if r["json"]["type"] == TYPES["workflow"]]
    assert phases[-1] == "SUCCEEDED"


async def test_a_sink_that_nothing_provides_stops_the_start(tmp_path: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "wingspan.cli", "serve", "--http-port", "0", "--grpc-port", "0",
        "--home", str(tmp_path / "home"), env={**__import__("os").environ, "WINGSPAN_EVENT_SINKS": "kafka"},
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    _, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode != 0
    text = stderr.decode()
    assert "setting event_sinks names 'kafka', which no installed event sink provides" in text, text
    assert "installed: nats" in text, text
