"""Real local receivers of notices: an HTTP server (webhooks, Slack) and an SMTP server
(aiosmtpd), each recording what it got and letting a test wait for it."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # a sender posts many notices at once: the default backlog of 5 would refuse some
    request_queue_size = 128


class Receiver:
    """An HTTP server on loopback that records requests and fails the first ``failures``;
    with ``hold`` set, it keeps each request waiting until ``release()``."""

    def __init__(self, failures: int = 0, status: int = 500, *, hold: bool = False) -> None:
        self.requests: list[dict[str, Any]] = []
        self.failures = failures
        self.status = status
        self.changed = threading.Condition()
        self.released = threading.Event()
        if not hold:
            self.released.set()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with owner.changed:
                    owner.requests.append({"path": self.path, "headers": dict(self.headers),
                                           "json": json.loads(body)})
                    failing = len(owner.requests) <= owner.failures
                    owner.changed.notify_all()
                owner.released.wait(30)
                self.send_response(owner.status if failing else 200)
                self.end_headers()
                self.wfile.write(b"no" if failing else b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Blocks (call it in a thread from async code) until ``count`` requests arrived."""
        with self.changed:
            if not self.changed.wait_for(lambda: len(self.requests) >= count, timeout):
                raise TimeoutError(f"{len(self.requests)} of {count} requests within {timeout} s")
            return list(self.requests)

    def release(self) -> None:
        self.released.set()

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()


class Mailbox:
    """An aiosmtpd handler that keeps every message; addresses @nowhere.invalid are refused."""

    def __init__(self) -> None:
        self.messages: list[Envelope] = []

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          options: list[str]) -> str:
        if address.endswith("@nowhere.invalid"):
            return "550 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.messages.append(envelope)
        return "250 Message accepted"


@contextmanager
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    mailbox = Mailbox()
    with socket.socket() as probe:  # the controller checks its own port, so 0 will not do
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()
