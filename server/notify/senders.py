"""Delivering a notice: HTTP webhooks, Slack incoming webhooks, and email over SMTP."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, fields
from email.message import EmailMessage
from typing import Any

import anyio.to_thread
import httpx

from wingspan.core.plugins.notifier import DeliveryError, Notice

__all__ = ["EmailSender", "SlackSender", "SmtpSettings", "WebhookSender", "classify", "describe",
           "http_client"]

# each sender is a Notifier (wingspan.core.plugins.notifier), the contract plugins implement too


@asynccontextmanager
async def http_client(shared: httpx.AsyncClient | None) -> AsyncIterator[httpx.AsyncClient]:
    """The sender's shared client, or one for this delivery (a notifier the hook made holds
    none: it cannot know the event loop it will deliver on)."""
    if shared is not None:
        yield shared
        return
    async with httpx.AsyncClient(timeout=30.0) as client:
        yield client


def describe(exc: Exception) -> str:
    # httpx's connection errors often carry no message: the class says what happened
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def classify(response: httpx.Response, where: str) -> None:
    if response.status_code < 300:
        return
    # a receiver that is down or overloaded may recover; one that refuses the request will not
    retryable = response.status_code >= 500 or response.status_code in (408, 429)
    raise DeliveryError(f"{where} answered {response.status_code}: {response.text[:200]}",
                        retryable=retryable)


@dataclass
class WebhookSender:
    """POSTs the notice as JSON, with the notification's headers."""

    client: httpx.AsyncClient | None = None
    kind: str = "webhook"

    async def send(self, target: Any, notice: Notice) -> None:
        headers = {h.key: h.value for h in getattr(target, "headers", ())}
        try:
            async with http_client(self.client) as client:
                response = await client.post(target.url, json=notice.as_json(), headers=headers)
        except httpx.HTTPError as exc:
            raise DeliveryError(f"webhook {target.url}: {describe(exc)}") from exc
        classify(response, f"webhook {target.url}")


@dataclass
class SlackSender:
    """Posts to a Slack incoming webhook: a text fallback and a section block."""

    client: httpx.AsyncClient | None = None
    kind: str = "slack"

    async def send(self, target: Any, notice: Notice) -> None:
        icon = {"SUCCEEDED": ":white_check_mark:", "FAILED": ":x:", "TIMED_OUT": ":hourglass:",
                "ABORTED": ":no_entry_sign:"}.get(notice.phase, ":information_source:")
        body = {
            "text": notice.subject,
            "blocks": [{"type": "section", "text": {"type": "mrkdwn",
                                                    "text": f"{icon} {notice.text}"}}],
        }
        try:
            async with http_client(self.client) as client:
                response = await client.post(target.webhook_url, json=body)
        except httpx.HTTPError as exc:
            raise DeliveryError(f"Slack webhook: {describe(exc)}") from exc
        classify(response, "Slack webhook")


@dataclass(frozen=True)
class SmtpSettings:
    host: str = "127.0.0.1"
    port: int = 25
    sender: str = "wingspan@localhost"
    username: str = ""
    password: str = ""
    # "starttls", "ssl" or "" (plain, for a relay on the same host)
    tls: str = ""
    timeout: float = 30.0

    @classmethod
    def from_settings(cls, settings: Any) -> SmtpSettings:
        """From the server's ``smtp_host``, ``smtp_port``, ``smtp_sender``, ``smtp_username``,
        ``smtp_password``, ``smtp_tls`` and ``smtp_timeout`` settings, those it has."""
        values = {f.name: getattr(settings, f"smtp_{f.name}") for f in fields(cls)
                  if getattr(settings, f"smtp_{f.name}", None) not in (None, "")}
        if values.get("tls", "") not in ("", "starttls", "ssl"):
            raise ValueError(f"smtp_tls={values['tls']!r}: use 'starttls', 'ssl' or '' (plain)")
        return cls(**values)


@dataclass
class EmailSender:
    """Sends one email per notice to the notification's recipients."""

    settings: SmtpSettings = field(default_factory=SmtpSettings)
    kind: str = "email"

    async def send(self, target: Any, notice: Notice) -> None:
        recipients = list(target.recipients)
        if not recipients:
            raise DeliveryError("an email notification has no recipients", retryable=False)
        message = EmailMessage()
        message["Subject"] = notice.subject
        message["From"] = self.settings.sender
        message["To"] = ", ".join(recipients)
        message.set_content(notice.text)
        # smtplib blocks: it runs in a worker thread, off the event loop
        await anyio.to_thread.run_sync(self._deliver, message, recipients)

    def _deliver(self, message: EmailMessage, recipients: list[str]) -> None:
        s = self.settings
        try:
            smtp: smtplib.SMTP
            if s.tls == "ssl":
                smtp = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout,
                                        context=ssl.create_default_context())
            else:
                smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
            with smtp:
                if s.tls == "starttls":
                    smtp.starttls(context=ssl.create_default_context())
                if s.username:
                    smtp.login(s.username, s.password)
                refused = smtp.send_message(message, to_addrs=recipients)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = {address: code for address, (code, _) in exc.recipients.items()}
            raise DeliveryError(f"SMTP {s.host}:{s.port} refused every recipient: {codes}",
                                retryable=all(code < 500 for code in codes.values())) from exc
        except smtplib.SMTPResponseException as exc:
            # 5xx: the server refuses for good (bad address, auth); 4xx: try again later
            raise DeliveryError(f"SMTP {s.host}:{s.port} answered {exc.smtp_code}: {exc.smtp_error!r}",
                                retryable=exc.smtp_code < 500) from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"SMTP {s.host}:{s.port}: {exc}") from exc
        if refused:
            raise DeliveryError(f"SMTP refused recipients {sorted(refused)}", retryable=False)
