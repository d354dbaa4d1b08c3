"""The built-in event sink: each CloudEvent POSTed to a webhook (CloudEvents HTTP protocol
binding, structured content mode: the event's JSON as the body, ``application/cloudevents+json``).

A 2xx answer means the receiver has it; 5xx, 408, 429 and connection failures are retried
by the publisher with backoff; any other answer is a refusal for good (the event is set aside).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx

from wingspan.core.plugins.event_sinks import CLOUDEVENTS_CONTENT_TYPE, CloudEvent, DeliveryError
from wingspan.server.notify.senders import classify, describe

__all__ = ["WebhookEventSink"]


@dataclass
class WebhookEventSink:
    url: str
    timeout: float = 10.0
    _client: httpx.AsyncClient | None = field(default=None, init=False, repr=False)

    async def publish(self, event: CloudEvent) -> None:
        if self._client is None:  # made on the publisher's loop, at its first event
            self._client = httpx.AsyncClient(timeout=self.timeout)
        try:
            response = await self._client.post(self.url, content=event.body.encode(),
                                               headers={"content-type": CLOUDEVENTS_CONTENT_TYPE})
        except httpx.HTTPError as exc:
            raise DeliveryError(f"event webhook {self.url}: {describe(exc)}") from exc
        classify(response, f"event webhook {self.url}")

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()
