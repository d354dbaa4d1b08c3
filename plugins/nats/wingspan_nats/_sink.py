"""The ``nats`` event sink: each CloudEvent published to JetStream, acked before it counts."""

from __future__ import annotations

import re
from typing import Any

from wingspan.plugin import CloudEvent, DeliveryError
from wingspan_nats._config import NatsSinkConfig

__all__ = ["NatsEventSink", "subject_of"]

# a subject token may hold neither '.', whitespace, '*' nor '>'
_NOT_IN_TOKEN = re.compile(r"[.\s*>]")


def subject_of(prefix: str, event: CloudEvent) -> str:
    """``<prefix>.<project>.<domain>.<name>``: one subject per execution (its events in order)."""
    parts = (event.subject or "unknown").split("/", 2)
    return ".".join([prefix, *(_NOT_IN_TOKEN.sub("_", part) or "_" for part in parts)])


class NatsEventSink:
    """Connects on the first event (on the publisher's event loop) and keeps the connection."""

    def __init__(self, config: NatsSinkConfig) -> None:
        self.config = config
        self._client: Any = None
        self._jetstream: Any = None

    async def _connect(self) -> Any:
        import nats
        from nats.js.errors import NotFoundError

        client = await nats.connect(servers=self.config.server_list, connect_timeout=self.config.timeout,
                                    allow_reconnect=True)
        try:
            jetstream = client.jetstream(timeout=self.config.timeout)
            if self.config.create_stream:
                try:
                    await jetstream.stream_info(self.config.stream)
                except NotFoundError:
                    await jetstream.add_stream(name=self.config.stream,
                                               subjects=[f"{self.config.subject_prefix}.>"])
        except BaseException:
            await client.close()
            raise
        self._client, self._jetstream = client, jetstream
        return jetstream

    async def publish(self, event: CloudEvent) -> None:
        from nats.errors import Error as NatsError

        where = f"NATS {','.join(self.config.server_list)} stream {self.config.stream}"
        try:
            jetstream = self._jetstream or await self._connect()
            await jetstream.publish(
                subject_of(self.config.subject_prefix, event), event.body.encode(),
                stream=self.config.stream,
                headers={"Nats-Msg-Id": event.id, "content-type": "application/cloudevents+json"})
        except (NatsError, OSError, TimeoutError) as exc:
            # a lost connection is made again at the next try
            await self.aclose()
            raise DeliveryError(f"{where}: {type(exc).__name__}: {exc}") from exc

    async def aclose(self) -> None:
        client, self._client, self._jetstream = self._client, None, None
        if client is not None and not client.is_closed:
            await client.close()
