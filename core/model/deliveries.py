"""What became of the notices an execution's end put in the outbox."""

from __future__ import annotations

from datetime import datetime

from wingspan.core.model.execution import WorkflowPhase
from wingspan.core.model.launch_plans import Notification
from wingspan.core.model.record import record

__all__ = ["DeliveryAttempt", "NotificationDelivery"]


@record
class DeliveryAttempt:
    number: int = 0
    at: datetime | None = None
    ok: bool = False
    error: str = ""
    # the sender (host:pid) that tried
    sender: str = ""


@record
class NotificationDelivery:
    id: int = 0
    notification: Notification | None = None
    # the phase it reports
    phase: WorkflowPhase = WorkflowPhase.UNDEFINED
    # "pending", "delivered" or "failed" (given up)
    state: str = ""
    attempts: tuple[DeliveryAttempt, ...] = ()
    created_at: datetime | None = None
    # when the next try is due, while pending
    next_attempt_at: datetime | None = None
    finished_at: datetime | None = None
    last_error: str = ""
