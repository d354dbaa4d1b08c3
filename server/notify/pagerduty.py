"""PagerDuty: a notice as an alert event of the Events API v2 (``POST /v2/enqueue``): a
``trigger`` with a summary, source, severity and the execution's console page as a link,
deduplicated per execution and phase so a notice sent twice (the outbox sends at least once)
is one alert."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any, ClassVar

import httpx

from wingspan.core.plugins.notifier import DeliveryError, Notice
from wingspan.server.notify.senders import classify, describe, http_client

__all__ = ["EVENTS_URL", "PagerDutySender", "PagerDutySettings"]

EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"
SEVERITIES = ("critical", "error", "warning", "info")
# the severity of a notice by phase, unless the notification sets one for failures
_SEVERITY = {"FAILED": "error", "TIMED_OUT": "error", "ABORTED": "warning", "SUCCEEDED": "info"}


@dataclasses.dataclass(frozen=True)
class PagerDutySettings:
    """A PagerDuty notification: the integration key of the service (Events API v2) it alerts."""

    routing_key: str
    # the severity of a failed or timed-out execution's alert (critical, error, warning, info)
    severity: str = "error"
    # the Events API endpoint (PagerDuty's own, or its EU one: https://events.eu.pagerduty.com/v2/enqueue)
    events_url: str = EVENTS_URL
    # what the alert says raised it
    source: str = "wingspan"

    def __post_init__(self) -> None:
        if len(self.routing_key) != 32 or not self.routing_key.isalnum():
            raise ValueError(
                f"routing_key must be the 32-character integration key of a PagerDuty service "
                f"(Events API v2), not {self.routing_key!r}"
            )
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity {self.severity!r} is not one of {', '.join(SEVERITIES)}")
        if not self.events_url.startswith(("https://", "http://")):
            raise ValueError(f"events_url must be an http(s) URL, not {self.events_url!r}")


@dataclasses.dataclass
class PagerDutySender:
    client: httpx.AsyncClient | None = None
    kind: str = "pagerduty"
    settings: ClassVar[type] = PagerDutySettings

    def event(self, target: PagerDutySettings, notice: Notice) -> dict[str, Any]:
        severity = (
            target.severity
            if notice.phase in ("FAILED", "TIMED_OUT")
            else _SEVERITY.get(notice.phase, "info")
        )
        details: dict[str, Any] = {
            "execution": notice.execution,
            "workflow": notice.workflow,
            "phase": notice.phase,
        }
        if notice.error:
            details["error"] = notice.error[:2000]
        body: dict[str, Any] = {
            "routing_key": target.routing_key,
            "event_action": "trigger",
            "dedup_key": f"wingspan/{notice.execution}/{notice.phase}"[:255],
            "payload": {
                "summary": (notice.message or notice.subject)[:1024],
                "source": target.source,
                "severity": severity,
                "timestamp": datetime.now(UTC).isoformat(),
                "component": notice.workflow or "workflow",
                "group": notice.execution.split("/", 1)[0],
                "class": notice.phase.lower(),
                "custom_details": details,
            },
            "client": "Wingspan",
        }
        if notice.link:
            body["client_url"] = notice.link
            body["links"] = [{"href": notice.link, "text": "The execution in the Wingspan console"}]
        return body

    async def send(self, target: Any, notice: Notice) -> None:
        try:
            async with http_client(self.client) as client:
                response = await client.post(target.events_url, json=self.event(target, notice))
        except httpx.HTTPError as exc:
            raise DeliveryError(f"PagerDuty {target.events_url}: {describe(exc)}") from exc
        classify(response, f"PagerDuty {target.events_url}")
