"""Notices reach a real local HTTP receiver (webhook and Slack format) and a real SMTP server;
failures are retried with backoff when retrying can help, and every attempt is recorded."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.unit.server.receivers import Mailbox, Receiver, smtp_server
from wingspan.core.engine.retry import RetryPolicy
from wingspan.core.model.launch_plans import EmailNotification, SlackNotification, WebhookNotification
from wingspan.core.model.tasks import KeyValue
from wingspan.core.plugins.notifier import DeliveryError, Notice
from wingspan.server.notify.delivery import deliver
from wingspan.server.notify.senders import EmailSender, SlackSender, SmtpSettings, WebhookSender

FAST = RetryPolicy(first_delay=0.01, max_delay=0.05)
NOTICE = Notice("default/development/abc123", "FAILED", "pipelines.train",
                "ValueError: bad rows\n  traceback...", "http://127.0.0.1:8080/console/executions/abc123")


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
    assert "ConnectError" in result.attempts[0].error  # named even when httpx gives no message


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    with smtp_server() as server:
        yield server


async def test_email_over_smtp(smtp: tuple[Mailbox, int]) -> None:
    mailbox, port = smtp
    sender = EmailSender(SmtpSettings(port=port, sender="ops@example.com"))
    await sender.send(EmailNotification(("a@example.com", "b@example.com")), NOTICE)
    (envelope,) = mailbox.messages
    assert envelope.rcpt_tos == ["a@example.com", "b@example.com"]
    assert isinstance(envelope.content, bytes)
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


def test_smtp_settings_come_from_the_server_settings_it_has() -> None:
    from types import SimpleNamespace

    settings = SimpleNamespace(smtp_host="mail.example.com", smtp_port=587, smtp_tls="starttls",
                               smtp_username="", home="/tmp")
    smtp = SmtpSettings.from_settings(settings)
    assert (smtp.host, smtp.port, smtp.tls, smtp.sender) == ("mail.example.com", 587, "starttls",
                                                             "wingspan@localhost")
    with pytest.raises(ValueError, match="starttls"):
        SmtpSettings.from_settings(SimpleNamespace(smtp_tls="tls"))
