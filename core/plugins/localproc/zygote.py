"""The fork server ("zygote") of local-process workers: a process that has imported what every
worker imports and forks a worker on request, so a fresh worker (a new code version's first)
costs a fork and the user's own imports, not an interpreter start and Wingspan's imports.

Run as ``python -m wingspan.core.plugins.worker_entry --fork-server FD`` (FD: its end of a
SOCK_SEQPACKET socket pair; each message one pickled dict, file descriptors alongside):

- in: ``{"fork": id, "env": {...}, "log": path}`` with the worker's two pipe ends (requests
  to read, replies to write); the child runs the worker's loop on them, as a spawned worker
  would, with ``env`` as its whole environment and ``log`` as its stdout and stderr.
- out: ``{"ready": pid, "threads": n}`` once; ``{"forked": id, "pid": pid}`` with a pidfd of
  the child (so the parent can signal it without racing a reused pid), or ``{"forked": id,
  "error": text}``; ``{"exited": pid, "code": code}`` when a child ends (reaped here: the
  zygote is its parent; a negative code is the signal that ended it).

Forking a process that runs other threads copies their locks in whatever state they were:
the zygote runs none (no event loop, no gRPC; it waits on children through their pidfds, not
a SIGCHLD handler) and refuses to fork if an import started one. When the parent closes the
socket (it stopped, or died) the zygote ends and its children run on: a worker left running
an attempt finishes it into its journal for the engine that resumes it.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import selectors
import signal
import socket
import sys
import threading
import traceback
from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["MAX_MESSAGE", "WORKER_MODULE", "available", "receive", "send", "serve"]

# the entry point of workers and of the zygote (localproc.worker with plugins loaded as bodies
# need them); a forked worker keeps the zygote's command line, so both are known by it
WORKER_MODULE = "wingspan.core.plugins.worker_entry"

# a fork request carries the worker's environment: far below this
MAX_MESSAGE = 1 << 20


def available() -> bool:
    """Whether this platform can run a zygote: fork, pidfds and passing descriptors."""
    return all((hasattr(os, "fork"), hasattr(os, "pidfd_open"), hasattr(socket, "send_fds"),
                hasattr(signal, "pidfd_send_signal")))


def send(control: socket.socket, message: dict[str, Any], fds: Iterable[int] = ()) -> None:
    socket.send_fds(control, [pickle.dumps(message)], list(fds))


def receive(control: socket.socket) -> tuple[dict[str, Any] | None, list[int]]:
    """The next message and the descriptors that came with it; None when the other end closed."""
    try:
        data, fds, flags, _ = socket.recv_fds(control, MAX_MESSAGE, 4)
    except OSError:
        return None, []
    if not data:
        for fd in fds:
            os.close(fd)
        return None, []
    if flags & (socket.MSG_TRUNC | socket.MSG_CTRUNC):
        for fd in fds:
            os.close(fd)
        raise OSError(f"a fork server message was cut short (flags {flags}): larger than {MAX_MESSAGE} bytes")
    message: dict[str, Any] = pickle.loads(data)
    return message, fds


def serve(control_fd: int, run_worker: Callable[[list[str]], None], warm_up: Callable[[], None],
          preload: Iterable[str] = ()) -> None:
    """The zygote's loop: fork a worker per request, report each child's end. ``warm_up`` and
    the ``preload`` modules are what each worker would otherwise load before its first attempt."""
    import importlib

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # as a worker: its parent stops it
    # closed when the loop ends (the parent gone), not left to the interpreter's exit
    with socket.socket(fileno=control_fd) as control:
        warm_up()
        for module in preload:
            with contextlib.suppress(ImportError):  # a worker that needs it reports the error
                importlib.import_module(module)
        with selectors.DefaultSelector() as selector:
            selector.register(control, selectors.EVENT_READ)
            # the parent may be gone already (a replica killed while its zygote warmed up): end quietly
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                send(control, {"ready": os.getpid(), "threads": threading.active_count()})
                _serve(control, selector, run_worker)


def _serve(control: socket.socket, selector: selectors.BaseSelector,
           run_worker: Callable[[list[str]], None]) -> None:
    children: dict[int, int] = {}  # pidfd -> pid
    while True:
        for key, _ in selector.select():
            if key.fileobj is control:
                message, fds = receive(control)
                if message is None:
                    return  # the parent is gone: the children run on
                _fork(control, selector, children, message, fds, run_worker)
            else:
                pidfd = key.fd
                selector.unregister(pidfd)
                os.close(pidfd)
                pid = children.pop(pidfd)
                _, status = os.waitpid(pid, 0)
                send(control, {"exited": pid, "code": os.waitstatus_to_exitcode(status)})


def _fork(control: socket.socket, selector: selectors.BaseSelector, children: dict[int, int],
          message: dict[str, Any], fds: list[int], run_worker: Callable[[list[str]], None]) -> None:
    request_id = message["fork"]
    if threading.active_count() > 1:
        for fd in fds:
            os.close(fd)
        send(control, {"forked": request_id, "error": f"the fork server runs {threading.active_count()} "
                       "threads: forking now could copy a lock another thread holds"})
        return
    requests, replies = fds
    sys.stdout.flush()  # or the child would write what the zygote buffered
    sys.stderr.flush()
    try:
        pid = os.fork()
    except OSError as exc:  # out of processes or memory: this worker fails, the zygote lives on
        os.close(requests)
        os.close(replies)
        send(control, {"forked": request_id, "error": f"fork failed: {exc}"})
        return
    if pid == 0:
        _child(control, selector, children, message, requests, replies, run_worker)
    os.close(requests)
    os.close(replies)
    pidfd = os.pidfd_open(pid)
    children[pidfd] = pid
    selector.register(pidfd, selectors.EVENT_READ)
    send(control, {"forked": request_id, "pid": pid}, [pidfd])


def _child(control: socket.socket, selector: selectors.BaseSelector, children: dict[int, int],
           message: dict[str, Any], requests: int, replies: int,
           run_worker: Callable[[list[str]], None]) -> None:
    """In the forked child: drop the zygote's descriptors, become the worker, never return."""
    code = 1
    try:
        selector.close()
        control.close()
        for pidfd in children:
            os.close(pidfd)
        os.environ.clear()
        os.environ.update(message["env"])
        log = os.open(message["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(log)
        run_worker([str(requests), str(replies)])
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        # never back into the zygote's loop: as multiprocessing's forked children do
        os._exit(code)
