"""Notices of executions that ended, and what became of them."""

from __future__ import annotations

from wingspan.core.model import codec
from wingspan.core.model.deliveries import NotificationDelivery
from wingspan.protos import v1

__all__ = ["deliveries_message"]


def deliveries_message(found: list[NotificationDelivery]) -> v1.ListNotificationsResponse:
    return v1.ListNotificationsResponse(notifications=[codec.to_proto(d) for d in found])
