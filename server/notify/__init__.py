"""Notifications of an execution's end: webhook, Slack and email senders.

Each sender is a ``Notifier`` (``wingspan.core.plugins.notifier``, the contract plugins
implement too): it delivers one notice or raises DeliveryError (retryable or not); the
outbox in the database and the retrying sender loop decide when to try again.
Other notifiers (PagerDuty and the like) come from plugins through the
``wingspan_notifiers`` hook.
"""
