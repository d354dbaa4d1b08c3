"""The local-process worker's side of eager bodies: an answer to a call that arrives after
the body ended is dropped, and the worker serves the next attempt as usual."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from wingspan.core.model import codec
from wingspan.core.model.literals import LiteralMap
from wingspan.core.plugins.localproc.pool import WorkerPool, WorkerSpec
from wingspan.core.types.purity import to_literal_now


async def test_a_late_answer_to_an_eager_call_is_dropped(tmp_path: Path) -> None:
    pool = WorkerPool("late-answer", WorkerSpec(tuple(sys.path), os.getcwd()), tmp_path / "logs")
    worker = await pool.acquire()
    try:
        await worker.send({"call": 3, "ok": True, "outputs": codec.encode(LiteralMap({}))})
        inputs = LiteralMap({"x": to_literal_now(1, int)})
        await worker.send({
            "id": "attempt-1", "module": "tests.unit.plugins.localproc_tasks", "qualname": "whoami",
            "task": "whoami", "inputs": codec.encode(inputs), "execution_id": "e", "node_id": "n0",
            "attempt": 0, "log": str(tmp_path / "n0.log"), "prefix": "", "offload": 0})
        reply = await worker.receive()
        assert reply is not None and reply["id"] == "attempt-1" and reply["ok"], reply
    finally:
        worker.kill()
