"""This process's side of the zygote (``zygote.py``): started on first use, one per process,
asked for each new worker process; a thread reads its answers and the exit codes of the
workers it forked (it is their parent, so it reaps them and reports how each ended)."""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import select
import signal
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from wingspan.core.errors import SystemError_
from wingspan.core.plugins.localproc.zygote import WORKER_MODULE, available, receive, send

__all__ = ["ForkServer", "ForkedProcess", "fork_server"]

log = logging.getLogger(__name__)

# what a worker's first attempt imports beyond the worker's own modules (listed from the
# modules a fresh worker had loaded after one attempt): the task objects' packages (named,
# since core does not import the SDK; a worker runs SDK task objects whichever layer started
# it), the attempt's own modules and the event loop's backend
PRELOAD = ("wingspan._authoring.task", "wingspan._authoring.workflow", "wingspan._authoring.map",
           "wingspan._authoring.dynamic", "wingspan._authoring.launch_plan", "wingspan._authoring.resources",
           "wingspan._runner.run", "wingspan.core.engine.runner", "wingspan.core.engine.literal_attempt",
           "wingspan.core.engine.failures", "wingspan.core.engine.reports", "wingspan.core.storage.local",
           "anyio._backends._asyncio")


class ForkedProcess:
    """A worker the zygote forked: signalled through a pidfd (never a pid another process may
    have been given since), its exit code reported by the zygote."""

    def __init__(self, pid: int, pidfd: int) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self._pidfd = pidfd
        self._lock = threading.Lock()
        self._ended = threading.Event()

    @property
    def alive(self) -> bool:
        with self._lock:
            if self.returncode is not None or self._pidfd < 0:
                return False
            readable, _, _ = select.select([self._pidfd], [], [], 0)  # a pidfd reads once it ended
        return not readable

    def wait(self, timeout: float) -> int | None:
        """Its exit code once the zygote reported it; None after ``timeout`` or when the zygote
        is gone (it ended first, so nobody knows the code)."""
        self._ended.wait(timeout)
        return self.returncode

    def kill(self) -> None:
        with self._lock:
            if self._pidfd >= 0:
                with contextlib.suppress(ProcessLookupError):
                    signal.pidfd_send_signal(self._pidfd, signal.SIGKILL)
                os.close(self._pidfd)
                self._pidfd = -1

    def _ended_with(self, code: int | None) -> None:
        with self._lock:
            self.returncode = code
            if code is not None and self._pidfd >= 0:
                os.close(self._pidfd)
                self._pidfd = -1
        self._ended.set()


@dataclass(eq=False)
class _Fork:
    done: threading.Event
    process: ForkedProcess | None = None
    error: str = ""


class ForkServer:
    """A running zygote: ``fork`` gives a new worker process on two fresh pipes."""

    def __init__(self, start_timeout: float = 120.0, preload: tuple[str, ...] = PRELOAD) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.process = subprocess.Popen(
            [sys.executable, "-m", WORKER_MODULE, "--fork-server", str(theirs.fileno()), *preload],
            pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        theirs.close()
        self._control = ours
        self._lock = threading.Lock()
        self._forks: dict[int, _Fork] = {}
        self._children: dict[int, ForkedProcess] = {}
        self._next = 0
        self.closed = False
        self.forked = 0
        self.owner = os.getpid()  # a process forked from this one must not use its socket
        ours.settimeout(start_timeout)
        ready, _ = receive(ours)
        ours.settimeout(None)
        if ready is None or ready.get("threads") != 1:
            self.close()
            raise SystemError_("the local-process fork server did not start" if ready is None else
                               f"the local-process fork server runs {ready['threads']} threads after its "
                               "imports: it cannot fork safely")
        self._reader = threading.Thread(target=self._read, name="wingspan-fork-server", daemon=True)
        self._reader.start()

    def fork(self, env: dict[str, str], log: Path, timeout: float = 30.0) -> tuple[ForkedProcess, int, int]:
        """A new worker with ``env`` as its environment and ``log`` as its stdout and stderr,
        and this side's ends of its pipes: requests (to write) and replies (to read)."""
        request_read, request_write = os.pipe()
        reply_read, reply_write = os.pipe()
        waiting = _Fork(threading.Event())
        try:
            with self._lock:
                if self.closed:
                    raise OSError("the fork server has ended")
                self._next += 1
                request_id = self._next
                self._forks[request_id] = waiting
                try:
                    send(self._control, {"fork": request_id, "env": env, "log": str(log)},
                         [request_read, reply_write])
                except OSError:
                    del self._forks[request_id]
                    raise
            if not waiting.done.wait(timeout):
                raise OSError(f"the fork server did not fork a worker in {timeout:.0f} s")
            if waiting.process is None:
                raise OSError(waiting.error)
        except BaseException:
            for fd in (request_write, reply_read):
                os.close(fd)
            raise
        finally:
            for fd in (request_read, reply_write):
                os.close(fd)
        self.forked += 1
        return waiting.process, request_write, reply_read

    def _read(self) -> None:
        while True:
            try:
                message, fds = receive(self._control)
            except OSError:
                log.exception("the local-process fork server sent what could not be read")
                message, fds = None, []
            if message is None:
                break
            if "forked" in message:
                with self._lock:
                    waiting = self._forks.pop(message["forked"])
                if "pid" in message:
                    process = ForkedProcess(message["pid"], fds[0])
                    self._children[process.pid] = process
                    waiting.process = process
                else:
                    waiting.error = message["error"]
                waiting.done.set()
            elif "exited" in message:
                ended = self._children.pop(message["exited"], None)
                if ended is not None:
                    ended._ended_with(message["code"])
        with self._lock:
            self.closed = True
            forks, self._forks = self._forks, {}
            self._control.close()
        for waiting in forks.values():
            waiting.error = "the fork server ended"
            waiting.done.set()
        for child in self._children.values():
            child._ended_with(None)  # its code goes nowhere now; it can still be killed
        self._children.clear()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(10)  # reap the zygote

    def close(self) -> None:
        """Ends the zygote; the workers it forked run on (those still wanted are stopped by
        their pools)."""
        with self._lock:
            self.closed = True
        with contextlib.suppress(OSError):
            self._control.shutdown(socket.SHUT_RDWR)
        reader = getattr(self, "_reader", None)
        if reader is not None:
            reader.join(10)
        else:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(10)
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)
        self._control.close()


_lock = threading.Lock()
_server: ForkServer | None = None
_unavailable = not available()


def fork_server() -> ForkServer | None:
    """This process's zygote, started on first use (and again if it died); None where fork is
    unavailable or the zygote could not start: workers are then spawned."""
    global _server, _unavailable
    with _lock:
        if _unavailable:
            return None
        if _server is None or _server.closed or _server.owner != os.getpid():
            try:
                _server = ForkServer()
            except (OSError, SystemError_) as exc:
                log.warning("local-process workers will start as new interpreters: %s", exc)
                _unavailable = True
                return None
        return _server


@atexit.register
def _close() -> None:
    with _lock:
        if _server is not None and _server.owner == os.getpid():
            _server.close()
