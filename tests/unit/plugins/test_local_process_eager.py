"""The local-process worker's side of eager bodies: an answer to a call that arrives after
the body ended is dropped, and the worker serves the next attempt as usual; a body whose
engine is gone fails instead of waiting for answers forever."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import anyio

from wingspan.core.model import codec
from wingspan.core.model.literals import LiteralMap
from wingspan.core.plugins.localproc.pool import WorkerPool, WorkerSpec
from wingspan.core.types.purity import to_literal_now


def attempt(tmp_path: Path, qualname: str, **extra: object) -> dict[str, object]:
    inputs = LiteralMap({"x": to_literal_now(1, int)})
    return {"id": f"attempt-{qualname}", "module": MODULE, "qualname": qualname, "task": qualname,
            "inputs": codec.encode(inputs), "execution_id": "e", "node_id": "n0", "attempt": 0,
            "log": str(tmp_path / f"{qualname}.log"), "prefix": "", "offload": 0, **extra}


MODULE = "tests.unit.plugins.localproc_eager_tasks"


async def test_a_late_answer_to_an_eager_call_is_dropped(tmp_path: Path) -> None:
    pool = WorkerPool("late-answer", WorkerSpec(tuple(sys.path), os.getcwd()), tmp_path / "logs")
    worker = await pool.acquire()
    try:
        await worker.send({"call": 3, "ok": True, "outputs": codec.encode(LiteralMap({}))})
        await worker.send(attempt(tmp_path, "add_one"))
        reply = await worker.receive()
        assert reply is not None and reply["id"] == "attempt-add_one" and reply["ok"], reply
    finally:
        worker.kill()


async def test_a_body_whose_engine_is_gone_fails_and_its_worker_ends(tmp_path: Path) -> None:
    pool = WorkerPool("engine-gone", WorkerSpec(tuple(sys.path), os.getcwd()), tmp_path / "logs")
    worker = await pool.acquire()
    try:
        await worker.send(attempt(tmp_path, "waits_for_add_one", eager=True))
        call = await worker.receive()
        assert call is not None and call["call"] == 0 and call["label"] == "add_one"
        worker._requests.close()  # the engine's end of the pipe the answer would come down
        with anyio.fail_after(20):
            reply = await worker.receive()
        assert reply is not None and not reply["ok"]
        assert "the engine that ran this eager body stopped" in reply["error"]["message"]
        with anyio.fail_after(10):
            assert await worker.exit_code() == 0
    finally:
        worker.kill()
