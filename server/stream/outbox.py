"""What the event service adds to the outbox for each event it stores.

One row per event and sink, built here and inserted by the event service with the events
themselves (one statement per transaction), so an event is in the outbox exactly when it
is stored: a server killed at any moment loses none and invents none. The row holds the
CloudEvent (spec 1.0, structured JSON mode) ready to send: its ``id`` is unique per event
(the execution's row and the event's key in it), so a consumer de-duplicates redeliveries.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import anyio

from wingspan.core.model.events import Event
from wingspan.core.model.events import TaskExecutionEvent as _TaskEvent
from wingspan.server.db.models import ExecutionRow, key

__all__ = ["EventOutbox", "cloud_event"]

_TYPES = {"workflow": "io.wingspan.execution.phase", "node": "io.wingspan.node.phase",
          "task": "io.wingspan.task.phase"}


def cloud_event(source: str, execution: ExecutionRow, event_key: str, event: Event, node_id: str,
                attempt: int) -> str:
    """The CloudEvent of a stored event, as structured-mode JSON."""
    value = event.value
    assert value is not None
    error = value.error
    at = value.occurred_at
    data: dict[str, Any] = {
        "project": execution.project, "domain": execution.domain, "name": execution.name,
        "workflow": execution.workflow_name, "node": node_id or None,
        "attempt": attempt if isinstance(value, _TaskEvent) else None,
        "phase": value.phase.name, "sequence": int(value.sequence),
        "error": {"code": error.code, "message": error.message, "kind": error.kind.name}
        if error is not None else None,
    }
    attributes: dict[str, Any] = {
        "specversion": "1.0",
        "id": f"{key(execution)}-{event_key}",
        "source": source,
        "type": _TYPES[event.kind],
        "subject": f"{execution.project}/{execution.domain}/{execution.name}",
        "datacontenttype": "application/json",
        "data": data,
    }
    if at is not None:
        attributes["time"] = at.isoformat().replace("+00:00", "Z")
    return json.dumps(attributes, separators=(",", ":"))


class EventOutbox:
    """The sinks every stored event goes to (none: nothing is written) and the events' source;
    ``written`` wakes this process's publishers once a transaction with new rows commits."""

    def __init__(self, sinks: Sequence[str] = (), source: str = "/wingspan") -> None:
        self.sinks = tuple(sinks)
        self.source = source
        self._written: anyio.Event | None = None

    def rows(self, execution: ExecutionRow, event_key: str, event: Event, node_id: str,
             attempt: int) -> list[dict[str, Any]]:
        """The outbox rows of one event just stored (one per sink)."""
        if not self.sinks:
            return []
        body = cloud_event(self.source, execution, event_key, event, node_id, attempt)
        return [{"sink": sink, "execution_id": key(execution), "body": body, "state": 0, "error": ""}
                for sink in self.sinks]

    def committed(self) -> None:
        """Rows were committed: the publishers waiting here look at once."""
        written, self._written = self._written, None
        if written is not None:
            written.set()

    def next_write(self) -> anyio.Event:
        if self._written is None:
            self._written = anyio.Event()
        return self._written
