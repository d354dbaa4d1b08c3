"""The server's part of the ``wingspan`` command line, contributed the way plugins contribute
theirs (the ``wingspan_cli_commands`` hook, entry point ``server`` of the group ``wingspan``),
so the CLI names no server module and a client-only install simply has no ``serve``; and the
built-in notifier kinds (webhook, Slack, email, PagerDuty), through ``wingspan_notifiers``, and
the built-in event sink (``webhook``, at ``event_webhook_url``), through ``wingspan_event_sinks``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wingspan.core.config import Settings
from wingspan.core.plugins import hookimpl
from wingspan.core.plugins.event_sinks import EventSink
from wingspan.core.plugins.notifier import Notifier

__all__ = ["wingspan_cli_commands", "wingspan_event_sinks", "wingspan_notifiers"]


@hookimpl
def wingspan_cli_commands() -> Mapping[str, Any]:
    return {"serve": "wingspan.server.cli:serve", "users": "wingspan.server.users_cli:users",
            "retention": "wingspan.server.retention_cli:retention"}


@hookimpl
def wingspan_notifiers(settings: Settings) -> Mapping[str, Notifier]:
    """The built-in kinds, through the hook every notifier plugin uses."""
    from wingspan.server.notify.senders import SmtpSettings
    from wingspan.server.services.notifications import builtin_senders

    return builtin_senders(None, SmtpSettings.from_settings(settings))


@hookimpl
def wingspan_event_sinks(settings: Settings) -> Mapping[str, EventSink]:
    """The webhook sink, when the settings name its URL."""
    from wingspan.server.stream.webhook import WebhookEventSink

    return {"webhook": WebhookEventSink(settings.event_webhook_url)} if settings.event_webhook_url else {}
