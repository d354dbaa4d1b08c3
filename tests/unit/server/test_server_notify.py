"""Notices reach a real local HTTP receiver (webhook and Slack format) and a real SMTP server;
failures are retried with backoff when retrying can help, and every attempt is recorded."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from wingspan.core.engine.retry import RetryPolicy
from wingspan.core.model.launch_plans import EmailNotification, SlackNotification, WebhookNotification
from wingspan.core.model.tasks import KeyValue
from wingspan.server.notify.delivery import deliver
from wingspan.server.notify.notice import DeliveryError, Notice
from wingspan.server.notify.senders import EmailSender, SlackSender, SmtpSettings, WebhookSender

FAST = RetryPolicy(first_delay=0.01, max_delay=0.05)
NOTICE = Notice("default/development/abc123", "FAILED", "pipelines.train",
                "ValueError: bad rows\n  traceback...", "http://127.0.0.1:8080/console/executions/abc123")


class Receiver:
    """An HTTP server on loopback that records requests and fails the first ``failures``."""

    def __init__(self, failures: int = 0, status: int = 500) -> None:
        self.requests: list[dict[str, Any]] = []
        self.failures = failures
        self.status = status
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                owner.requests.append({"path": self.path, "headers": dict(self.headers),
                                       "json": json.loads(body)})
                failing = len(owner.requests) <= owner.failures
                self.send_response(owner.status if failing else 200)
                self.end_headers()
                self.wfile.write(b"no" if failing else b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
async def client() -> Any:
    async with httpx.AsyncClient(timeout=5) as http:
        yield http


async def test_webhook_posts_the_notice_as_json_with_headers(client: httpx.AsyncClient) -> None:
    with Receiver() as receiver:
        target = WebhookNotification(f"{receiver.url}/hook", (KeyValue("Authorization", "Bearer t"),))
        await WebhookSender(client).send(target, NOTICE)
    (request,) = receiver.requests
    assert request["path"] == "/hook"
    assert request["headers"]["Authorization"] == "Bearer t"
    assert request["json"] == {"execution_id": "default/development/abc123", "phase": "FAILED",
                               "workflow": "pipelines.train", "error": NOTICE.error,
                               "link": NOTICE.link}


async def test_slack_incoming_webhook_format(client: httpx.AsyncClient) -> None:
    with Receiver() as receiver:
        await SlackSender(client).send(SlackNotification(f"{receiver.url}/services/T/B/X"), NOTICE)
    body = receiver.requests[0]["json"]
    assert body["text"] == "[wingspan] pipelines.train default/development/abc123: failed"
    (block,) = body["blocks"]
    assert block["type"] == "section" and block["text"]["type"] == "mrkdwn"
    assert "Error: ValueError: bad rows" in block["text"]["text"]
    assert NOTICE.link in block["text"]["text"]


async def test_a_receiver_that_fails_at_first_gets_the_notice_later(client: httpx.AsyncClient) -> None:
    with Receiver(failures=2) as receiver:
        result = await deliver(WebhookSender(client), WebhookNotification(receiver.url), NOTICE, retry=FAST)
    assert result.delivered
    assert [a.ok for a in result.attempts] == [False, False, True]
    assert "answered 500" in result.attempts[0].error
    assert len(receiver.requests) == 3


async def test_a_refusal_is_not_retried(client: httpx.AsyncClient) -> None:
    with Receiver(failures=10, status=400) as receiver:
        result = await deliver(WebhookSender(client), WebhookNotification(receiver.url), NOTICE, retry=FAST)
    assert not result.delivered
    assert len(result.attempts) == 1 and len(receiver.requests) == 1


async def test_an_unreachable_receiver_is_retried_then_given_up(client: httpx.AsyncClient) -> None:
    with Receiver() as receiver:
        url = receiver.url
    result = await deliver(WebhookSender(client), WebhookNotification(url), NOTICE, retry=FAST,
                           max_attempts=3)
    assert not result.delivered and len(result.attempts) == 3


class Mailbox:
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


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
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


async def test_email_over_smtp(smtp: tuple[Mailbox, int]) -> None:
    mailbox, port = smtp
    sender = EmailSender(SmtpSettings(port=port, sender="ops@example.com"))
    await sender.send(EmailNotification(("a@example.com", "b@example.com")), NOTICE)
    (envelope,) = mailbox.messages
    assert envelope.rcpt_tos == ["a@example.com", "b@example.com"]
    text = envelope.content.decode()
    assert "Subject: [wingspan] pipelines.train default/development/abc123: failed" in text
    assert "From: ops@example.com" in text and "Error: ValueError: bad rows" in text


async def test_a_refused_recipient_is_a_permanent_failure(smtp: tuple[Mailbox, int]) -> None:
    _, port = smtp
    with pytest.raises(DeliveryError) as info:
        await EmailSender(SmtpSettings(port=port)).send(EmailNotification(("x@nowhere.invalid",)), NOTICE)
    assert not info.value.retryable and "550" in str(info.value)
    with pytest.raises(DeliveryError, match="no recipients"):
        await EmailSender(SmtpSettings(port=port)).send(EmailNotification(()), NOTICE)
