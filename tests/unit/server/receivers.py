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


def pagerduty_problems(request: dict[str, Any]) -> list[str]:
    """What a request to PagerDuty's Events API v2 (POST /v2/enqueue) gets wrong, by the
    published reference: a JSON body with a 32-character routing_key, an event_action, a
    dedup_key of at most 255 characters, and for a trigger a payload with a summary (at most
    1024 characters), a source and a severity (critical, error, warning or info), an ISO 8601
    timestamp when given, and links of href and text."""
    import datetime as dt

    body = request["json"]
    found = []
    if request["path"] != "/v2/enqueue":
        found.append(f"path {request['path']!r} is not /v2/enqueue")
    if not request["headers"].get("Content-Type", "").startswith("application/json"):
        found.append("Content-Type is not application/json")
    key = body.get("routing_key")
    if not isinstance(key, str) or len(key) != 32:
        found.append(f"routing_key {key!r} is not a 32-character integration key")
    if body.get("event_action") not in ("trigger", "acknowledge", "resolve"):
        found.append(f"event_action {body.get('event_action')!r}")
    if "dedup_key" in body and (not isinstance(body["dedup_key"], str) or len(body["dedup_key"]) > 255):
        found.append("dedup_key is not text of at most 255 characters")
    if body.get("event_action") == "trigger":
        payload = body.get("payload") or {}
        summary = payload.get("summary")
        if not isinstance(summary, str) or not summary or len(summary) > 1024:
            found.append("payload.summary is not text of 1 to 1024 characters")
        if not isinstance(payload.get("source"), str) or not payload.get("source"):
            found.append("payload.source is missing")
        if payload.get("severity") not in ("critical", "error", "warning", "info"):
            found.append(f"payload.severity {payload.get('severity')!r}")
        if "timestamp" in payload:
            try:
                dt.datetime.fromisoformat(payload["timestamp"])
            except (TypeError, ValueError):
                found.append(f"payload.timestamp {payload['timestamp']!r} is not ISO 8601")
        if "custom_details" in payload and not isinstance(payload["custom_details"], dict):
            found.append("payload.custom_details is not an object")
    for link in body.get("links") or ():
        if set(link) - {"href", "text"} or not isinstance(link.get("href"), str):
            found.append(f"link {link!r} is not {{href, text}}")
    return found


class PagerDutyReceiver:
    """PagerDuty's Events API v2 on loopback: a request of the published shape is answered 202
    (``{"status": "success", ...}``), any other 400 (``{"status": "invalid event", ...}``), as
    PagerDuty answers; every request is kept with its problems."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.changed = threading.Condition()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                request = {"path": self.path, "headers": dict(self.headers), "json": json.loads(body)}
                problems = pagerduty_problems(request)
                request["problems"] = problems
                with owner.changed:
                    owner.requests.append(request)
                    owner.changed.notify_all()
                if problems:
                    status, answer = 400, {"status": "invalid event", "message": "Event object is invalid",
                                           "errors": problems}
                else:
                    status, answer = 202, {"status": "success", "message": "Event processed",
                                           "dedup_key": request["json"].get("dedup_key", "generated")}
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        with self.changed:
            if not self.changed.wait_for(lambda: len(self.requests) >= count, timeout):
                raise TimeoutError(f"{len(self.requests)} of {count} events within {timeout} s")
            return list(self.requests)

    def __enter__(self) -> PagerDutyReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
