"""What a notification says about an execution."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["DeliveryError", "Notice"]


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
