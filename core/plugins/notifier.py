"""The notifier contract: what a notification says about an execution (``Notice``), how a
notifier delivers it (``Notifier.send``) and how it says that it could not
(``DeliveryError``).

A notifier comes from the ``wingspan_notifiers`` hook, by kind (``"webhook"``, ``"email"``,
``"slack"``, ``"pagerduty"`` or a new one); the built-in kinds come through the same hook (the
server's entry point). A kind may declare the schema of its notifications' settings
(``settings``: a dataclass or pydantic model): the server then refuses, when a launch plan or
an execution is registered, settings that do not fit it, as it refuses a kind no notifier has.
``send`` gets the settings read into that schema. The server's outbox sender calls ``send`` for
each notice and retries with backoff while the error says ``retryable``; it records every
attempt. The contract lives in core so that a notifier plugin imports ``wingspan.plugin``,
never the server.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

__all__ = ["PLACEHOLDERS", "DeliveryError", "Notice", "Notifier", "settings_schema", "template_problems"]

#: what a notification's template may name: ``{{ phase }}``, ``{{ link }}``, ...
PLACEHOLDERS = ("execution", "project", "domain", "name", "workflow", "phase", "error", "link")
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_.]*)\s*\}\}")


def template_problems(template: str) -> list[str]:
    """What is wrong with a notification's template: placeholders that name nothing."""
    unknown = sorted({name for name in _PLACEHOLDER.findall(template) if name not in PLACEHOLDERS})
    return [f"the template names {{{{ {name} }}}}, which is not one of "
            f"{', '.join('{{ ' + p + ' }}' for p in PLACEHOLDERS)}" for name in unknown]


def settings_schema(notifier: Any) -> type | None:
    """The schema a notifier declares for its notifications' settings (None: it takes the
    notification's own record, or any settings)."""
    schema = getattr(notifier, "settings", None)
    return schema if isinstance(schema, type) else None


@dataclass(frozen=True)
class Notice:
    """One execution reaching a phase, as every notifier renders it."""

    execution: str  # project/domain/name
    phase: str  # SUCCEEDED, FAILED, TIMED_OUT, ABORTED
    workflow: str = ""
    error: str = ""
    link: str = ""  # the execution's page in the console
    # the notification's template, filled in (``render``); "" for the default text
    message: str = ""

    def render(self, template: str) -> str:
        """``template`` with the placeholders filled from this notice."""
        project, domain, name = ([*self.execution.split("/", 2), "", ""])[:3]
        values = {"execution": self.execution, "project": project, "domain": domain, "name": name,
                  "workflow": self.workflow, "phase": self.phase, "error": self.error, "link": self.link}
        return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), template)

    def as_json(self) -> dict[str, Any]:
        return {"execution_id": self.execution, "phase": self.phase, "workflow": self.workflow,
                "error": self.error or None, "link": self.link,
                **({"message": self.message} if self.message else {})}

    @property
    def subject(self) -> str:
        return f"[wingspan] {self.workflow or 'execution'} {self.execution}: {self.phase.lower()}"

    @property
    def text(self) -> str:
        if self.message:
            return self.message
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
    its settings read into the notifier's ``settings`` schema when it declares one, else a dict).

    ``settings`` (optional class attribute): the schema (a dataclass or pydantic model) of the
    settings of this kind's notifications, checked when they are registered."""

    async def send(self, target: Any, notice: Notice) -> None:
        """Delivers ``notice`` to ``target``; raises DeliveryError when it cannot."""
