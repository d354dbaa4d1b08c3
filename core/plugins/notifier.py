"""The notifier contract: what a notification says about an execution (``Notice``), how a
notifier delivers it (``Notifier.send``) and how it says that it could not
(``DeliveryError``).

A notifier comes from the ``wingspan_notifiers`` hook, by kind (``"webhook"``, ``"email"``,
``"slack"`` or a new one). The server's outbox sender calls ``send`` for each notice and
retries with backoff while the error says ``retryable``; it records every attempt. The
contract lives in core so that a notifier plugin imports ``wingspan.plugin``, never the server.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

__all__ = ["DeliveryError", "Notice", "Notifier"]


@dataclass(frozen=True)
class Notice:
    """One execution reaching a phase, as every notifier renders it."""

    execution: str  # project/domain/name
    phase: str  # SUCCEEDED, FAILED, TIMED_OUT, ABORTED
    workflow: str = ""
    error: str = ""
    link: str = ""  # the execution's page in the console

    def as_json(self) -> dict[str, Any]:
        return {"execution_id": self.execution, "phase": self.phase, "workflow": self.workflow,
                "error": self.error or None, "link": self.link}

    @property
    def subject(self) -> str:
        return f"[wingspan] {self.workflow or 'execution'} {self.execution}: {self.phase.lower()}"

    @property
    def text(self) -> str:
        lines = [f"Execution {self.execution} of {self.workflow or 'a workflow'} ended "
                 f"{self.phase.lower()}."]
        if self.error:
            lines.append(f"Error: {self.error.splitlines()[0][:500]}")
        if self.link:
            lines.append(f"Details: {self.link}")
        return "\n".join(lines)


class DeliveryError(Exception):
    """A notice could not be delivered; ``retryable`` says whether trying again can help."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


@runtime_checkable
class Notifier(Protocol):
    """Delivers notices of one kind. ``target`` is the notification's own settings as the user
    wrote them (``WebhookNotification``, ``EmailNotification``, ...; for a kind a plugin adds,
    what its SDK half stored)."""

    async def send(self, target: Any, notice: Notice) -> None:
        """Delivers ``notice`` to ``target``; raises DeliveryError when it cannot."""
