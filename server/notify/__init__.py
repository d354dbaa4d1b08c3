"""Notifications of an execution's end: webhook, Slack and email senders.

Each sender is a ``Notifier`` (``wingspan.core.plugins.notifier``, the contract plugins
implement too): it delivers one notice or raises DeliveryError (retryable or not); the
outbox in the database and the retrying sender loop decide when to try again.
PagerDuty (``pagerduty.py``, Events API v2) is built in too. All of them
reach the server as a plugin's would, through the ``wingspan_notifiers`` hook of the server's
entry point (``wingspan.server.commands``); other kinds come from plugins the same way.
"""
