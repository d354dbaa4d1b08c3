"""An eager body in a worker process: each task it awaits is sent up the reply pipe to the
engine, which runs it as a child node of the eager node and sends its outputs (or how it
failed) back down the request pipe. Calls of one body may be outstanding together
(``asyncio.gather``); each message names its call by number.

Both halves are here: :class:`WorkerCalls` in the worker, :func:`serve_call` in the target.
"""

from __future__ import annotations

import asyncio
import contextlib
import pickle
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

from wingspan.core.errors import ExecutionFailedError

if TYPE_CHECKING:
    from wingspan.core.engine.interfaces import TaskRunner, TemplateLauncher, WorkflowTarget
    from wingspan.core.types import TransferContext

__all__ = ["WorkerCalls", "is_call", "serve_call"]


def is_call(message: dict[str, Any]) -> bool:
    """Whether a message from a worker is an eager body's call (not its attempt's reply)."""
    return "call" in message


class WorkerCalls:
    """The worker's half: the launcher an eager body's calls go to."""

    def __init__(self, requests: Connection, replies: Connection, transfer: TransferContext) -> None:
        self._requests = requests
        self._replies = replies
        self._transfer = transfer
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._count = 0
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(requests.fileno(), self._answered)

    def close(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self._loop.remove_reader(self._requests.fileno())

    def _answered(self) -> None:
        try:
            while self._requests.poll():
                answer = pickle.loads(self._requests.recv_bytes())
                future = self._pending.pop(answer["call"], None)
                if future is not None and not future.done():
                    future.set_result(answer)
        except (EOFError, OSError):  # the engine is gone: no call of this body will be answered
            self.close()
            gone = {"ok": False, "message": "the engine that ran this eager body stopped"}
            for future in self._pending.values():
                if not future.done():
                    future.set_result(gone)
            self._pending.clear()

    async def launch(self, target: TaskRunner | WorkflowTarget, label: str,
                     inputs: dict[str, Any]) -> dict[str, Any]:
        from wingspan.core.engine.interfaces import WorkflowTarget
        from wingspan.core.model import codec
        from wingspan.core.model.literals import LiteralMap
        from wingspan.core.types import default_engine

        engine = default_engine()
        if isinstance(target, WorkflowTarget):  # the engine gets the workflow's closure
            called = {"closure": codec.encode(target.closure)}
        else:
            called = {"template": codec.encode(target.template)}
        literals = await engine.to_literal_map(inputs, target.input_types, self._transfer)
        number = self._count
        self._count += 1
        future: asyncio.Future[dict[str, Any]] = self._loop.create_future()
        self._pending[number] = future
        self._replies.send_bytes(pickle.dumps({
            "call": number, "label": label, **called, "inputs": codec.encode(literals)}))
        answer = await future
        if not answer["ok"]:
            raise ExecutionFailedError(answer["message"], node_id=answer.get("node_id", ""),
                                       phase=answer.get("phase", "FAILED"), code=answer.get("code", ""))
        outputs = codec.decode(LiteralMap, answer["outputs"])
        return await engine.to_python_map(outputs, target.output_types, self._transfer)


async def serve_call(message: dict[str, Any], calls: TemplateLauncher | None) -> dict[str, Any]:
    """The target's half: runs one call through the engine; the answer to send down."""
    from wingspan.core.model import codec
    from wingspan.core.model.literals import LiteralMap
    from wingspan.core.model.tasks import TaskTemplate
    from wingspan.core.model.workflows import CompiledWorkflowClosure

    number = message["call"]
    if calls is None:
        return {"call": number, "ok": False,
                "message": "this engine cannot run the tasks an eager body awaits"}
    called = (codec.decode(CompiledWorkflowClosure, message["closure"]) if "closure" in message
              else codec.decode(TaskTemplate, message["template"]))
    inputs = dict(codec.decode(LiteralMap, message["inputs"]).literals)
    try:
        outputs = await calls(called, message["label"], inputs)
    except ExecutionFailedError as exc:
        return {"call": number, "ok": False, "message": str(exc), "node_id": exc.node_id,
                "phase": exc.phase, "code": exc.code}
    return {"call": number, "ok": True, "outputs": codec.encode(LiteralMap(outputs))}
