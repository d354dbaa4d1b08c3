"""A warm worker process of the local-process target (started as ``python -m
wingspan.core.plugins.worker_entry``, which hands it the plugin loading).

It imports the user's code once and then runs attempts one after another: each request
names the task (module + qualname) and carries its inputs as literals (IDL bytes); the
reply carries the outputs as literals, or the error. The attempt's stdout and stderr
(file descriptors 1 and 2, so child processes' output too) go to the attempt's log
file. Each reply is also appended to the worker's journal (one file per worker, kept
open: creating a file per attempt would cost more than the attempt), so that another
process can read an attempt's end from its handle.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import os
import pickle
import signal
import sys
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

__all__ = ["main", "read_journal", "resolve_task", "warm_up"]

MAIN_MODULE = "__wingspan_main__"


def resolve_task(module_name: str, qualname: str, main_path: str = "") -> Any:
    """The task object at ``module.qualname``; a script run as __main__ is imported by path."""
    if module_name == "__main__":
        module = sys.modules.get(MAIN_MODULE)
        if module is None:
            if not main_path:
                raise ImportError("the task is defined in a script run as __main__ and its path is unknown")
            spec = importlib.util.spec_from_file_location(MAIN_MODULE, main_path)
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            sys.modules[MAIN_MODULE] = module
            spec.loader.exec_module(module)
    else:
        module = importlib.import_module(module_name)
    if "<locals>" in qualname:
        raise ImportError(f"task {module_name}.{qualname} is defined inside a function; the "
                          "local-process target imports tasks by name: define it at module level")
    target: Any = module
    for part in qualname.split("."):
        target = getattr(target, part)
    if not hasattr(target, "task_runner"):
        raise ImportError(f"{module_name}.{qualname} is {type(target).__name__}, not a Wingspan task")
    return target.task_runner()


def _nothing_to_prepare(task_type: str) -> None:
    return None


class Worker:
    def __init__(self, hello: dict[str, Any],
                 prepare: Callable[[str], None] = _nothing_to_prepare) -> None:
        # called with a task's type the first time this worker runs that task
        self.prepare = prepare
        self.main_path: str = hello.get("main", "")
        self.storage: str = hello.get("storage", "")
        self.loop = asyncio.new_event_loop()
        self.runners: dict[tuple[str, str], Any] = {}
        self._store: Any = None
        # the pipes, for an eager body's calls to the engine (set by main)
        self.requests: Connection | None = None
        self.replies: Connection | None = None

    def store(self) -> Any:
        if self._store is None and self.storage:
            if self.storage.startswith("file://"):
                from wingspan.core.storage.local import LocalBlobStore

                self._store = LocalBlobStore(self.storage)
            else:
                from wingspan.core.config import Settings
                from wingspan.core.storage import store_for_uri

                self._store = store_for_uri(self.storage, Settings.load())
        return self._store

    def run(self, request: dict[str, Any]) -> dict[str, Any]:
        parent = request.get("traceparent") or ""
        if not parent:
            return self._run(request)
        # the engine traces: the body runs as a span of its own (recorded by the engine from the
        # times in the reply), whose traceparent the body's code and its child processes inherit
        from wingspan.core.tracing import child_traceparent

        own = child_traceparent(parent)
        os.environ["TRACEPARENT"] = own
        started = time.time_ns()
        try:
            reply = self._run(request)
        finally:
            os.environ.pop("TRACEPARENT", None)
        reply["body_span"] = {"traceparent": own, "start_ns": started, "end_ns": time.time_ns()}
        return reply

    def _run(self, request: dict[str, Any]) -> dict[str, Any]:
        return self.loop.run_until_complete(self._attempt(request))

    async def run_chunk(self, request: dict[str, Any], send: Callable[[bytes], None]) -> bool:
        """A map's items, one after another, each answered (``send``) as it ends, the engine
        timing each; not journaled: a chunk has no handle to follow. In one turn of the loop, so
        the items share its worker thread (a loop run per item started a thread per item).
        False when the engine is gone."""
        common = {k: v for k, v in request.items() if k != "chunk"}
        for index, item in enumerate(request["chunk"]):
            # the chunk's items share its log: a line before each says whose part follows
            print(f"--- {item['node_id']}, attempt {item['attempt']}", flush=True)
            reply = await self._attempt({**common, **item, "id": f"{request['id']}/{index}"})
            try:
                send(pickle.dumps(reply))
            except OSError:
                return False
        return True

    async def _attempt(self, request: dict[str, Any]) -> dict[str, Any]:
        from wingspan.core.engine.attempt_io import attempt_store
        from wingspan.core.engine.context import ExecutionContext, ExecutionName
        from wingspan.core.engine.failures import error_from_exception
        from wingspan.core.engine.literal_attempt import run_attempt_from_literals
        from wingspan.core.engine.reports import save_report
        from wingspan.core.model import codec
        from wingspan.core.model.literals import LiteralMap
        from wingspan.core.model.workflows import DynamicJobSpec
        from wingspan.core.types import TransferContext

        node_id = request["node_id"]
        reports: list[tuple[str, str]] = []  # the attempt's report, when its task made one
        try:
            key = (request["module"], request["qualname"])
            runner = self.runners.get(key)
            if runner is None:
                runner = self.runners[key] = resolve_task(*key, self.main_path)
                self.prepare(runner.template.type)  # e.g. its plugin's environments and types
            transfer = TransferContext(self.store(), request["prefix"], request["offload"])
            literals = codec.decode(LiteralMap, request["inputs"])
            context = ExecutionContext(ExecutionName(request["execution_id"]), node_id, request["attempt"],
                                       request["task"], self.store(), request["prefix"])
            try:
                if request.get("eager"):
                    done = await self._eager(runner, literals, transfer, context)
                    return {"id": request["id"], "ok": True, "outputs": codec.encode(done), "logs": reports}
                done = await run_attempt_from_literals(runner, literals, transfer, context,
                                                       dynamic=bool(request.get("dynamic")))
            finally:
                if context.report:
                    saved = await save_report(context, attempt_store(context.store))
                    reports.extend([saved] if saved is not None else [])
            if isinstance(done, DynamicJobSpec):  # the body built a graph the engine then runs
                return {"id": request["id"], "ok": True, "outputs": codec.encode(LiteralMap({})),
                        "dynamic": codec.encode(done), "logs": reports}
            return {"id": request["id"], "ok": True, "outputs": codec.encode(done), "logs": reports}
        except Exception as exc:
            error = error_from_exception(exc, node_id)
            # into the attempt's log (fd 2 is its file here): a retried attempt's failure is read
            # there, since only the last attempt's error reaches the node
            print(error.message, file=sys.stderr, flush=True)
            try:
                raised = pickle.dumps(exc)
            except Exception:
                raised = None
            return {"id": request["id"], "ok": False, "exception": raised, "logs": reports,
                    "error": {"code": error.code, "message": error.message, "kind": int(error.kind),
                              "retryable": error.retryable}}

    async def _eager(self, runner: Any, literals: Any, transfer: Any, context: Any) -> Any:
        """An eager body's attempt: the tasks it awaits go to the engine over the pipes."""
        from wingspan.core.engine.context import reset_context, set_context
        from wingspan.core.engine.interfaces import AttemptRequest
        from wingspan.core.model.execution import TaskPhase
        from wingspan.core.plugins.localproc.eager_calls import WorkerCalls
        from wingspan.core.types import default_engine

        assert self.requests is not None and self.replies is not None
        engine = default_engine()
        inputs = await engine.to_python_map(literals, runner.input_types, transfer)
        calls = WorkerCalls(self.requests, self.replies, transfer)
        token = set_context(context)
        try:
            outcome = await runner.run_eager(
                AttemptRequest(runner, inputs, context.execution_id, context.node_id, context.attempt),
                calls.launch)
        finally:
            reset_context(token)
            calls.close()
        if outcome.phase != TaskPhase.SUCCEEDED:
            raise outcome.exception or RuntimeError(outcome.error.message if outcome.error else "failed")
        return await engine.to_literal_map(outcome.outputs, runner.output_types, transfer)


def _redirected(log_path: str, func: Any, *args: Any) -> Any:
    """Runs ``func`` with file descriptors 1 and 2 writing to ``log_path``."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.dup2(log, 1)
        os.dup2(log, 2)
        return func(*args)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (log, *saved):
            os.close(fd)


def read_journal(path: str, attempt_id: str) -> dict[str, Any] | None:
    """The reply to ``attempt_id`` in a worker's journal, or None if it is not there (yet)."""
    try:
        with open(path, "rb") as journal:
            data = journal.read()
    except FileNotFoundError:
        return None
    position = 0
    while position + 4 <= len(data):
        size = int.from_bytes(data[position:position + 4], "big")
        record = data[position + 4:position + 4 + size]
        if len(record) < size:
            return None  # being written
        position += 4 + size
        reply: dict[str, Any] = pickle.loads(record)
        if reply.get("id") == attempt_id:
            return reply
    return None


def warm_up() -> None:
    """What every attempt uses, loaded before the worker reports ready: a first attempt then
    costs no more than the next (and a timeout is not eaten by imports). The zygote does it
    once for all the workers it forks."""
    from wingspan.core.model import codec
    from wingspan.core.types import default_engine

    codec.preload()
    default_engine()


def main(argv: list[str] | None = None, prepare: Callable[[str], None] = _nothing_to_prepare) -> None:
    args = sys.argv[1:] if argv is None else argv
    requests = Connection(int(args[0]), writable=False)
    replies = Connection(int(args[1]), readable=False)
    # the parent stops workers itself; a Ctrl-C in the terminal must not cut a reply in half
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    hello = pickle.loads(requests.recv_bytes())
    sys.path[:] = hello["sys_path"]
    if hello.get("cwd"):
        os.chdir(hello["cwd"])
    worker = Worker(hello, prepare)
    worker.requests, worker.replies = requests, replies
    folders: set[str] = set()
    failed = ""
    warm_up()
    for module in hello.get("preload", ()):
        try:
            importlib.import_module(module)
        except Exception as exc:  # reported again, with the attempt, when a task needs it
            failed = f"{type(exc).__name__}: {exc}"
    journal_path = os.path.join(hello.get("journal_dir") or ".", f"worker-{os.getpid()}.journal")
    os.makedirs(os.path.dirname(journal_path), exist_ok=True)
    journal = open(journal_path, "ab", buffering=0)  # noqa: SIM115 - open for the worker's life
    replies.send_bytes(pickle.dumps({"pid": os.getpid(), "journal": journal_path, "preload_error": failed}))
    while True:
        try:
            message = requests.recv_bytes()
        except (EOFError, OSError):
            return  # the parent is gone or closed the pool
        request = pickle.loads(message)
        if "call" in request:
            continue  # an answer to an eager body's call that came after the body ended
        folder = os.path.dirname(request["log"])
        if folder not in folders:
            Path(folder).mkdir(parents=True, exist_ok=True)
            folders.add(folder)
        if "chunk" in request:
            chunk = worker.run_chunk(request, replies.send_bytes)
            if not _redirected(request["log"], worker.loop.run_until_complete, chunk):
                return  # the engine that sent it stopped: its chunk is not followed
            continue
        reply = pickle.dumps(_redirected(request["log"], worker.run, request))
        journal.write(len(reply).to_bytes(4, "big") + reply)  # one write: appended whole
        try:
            replies.send_bytes(reply)
        except OSError:
            return  # the engine that started it stopped; its successor reads the journal


if __name__ == "__main__":
    main()
