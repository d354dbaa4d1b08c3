"""The ``[plugins.nats]`` table."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["NatsSinkConfig"]


@dataclass(frozen=True)
class NatsSinkConfig:
    # the NATS servers, comma-separated URLs
    servers: str = "nats://127.0.0.1:4222"
    # the JetStream stream the events go to; made (subjects "<subject_prefix>.>") unless it exists
    stream: str = "WINGSPAN_EVENTS"
    create_stream: bool = True
    # each event goes on <subject_prefix>.<project>.<domain>.<execution name>
    subject_prefix: str = "wingspan.events"
    # seconds to wait for a connection, and for JetStream's ack of one event
    timeout: float = 10.0

    def __post_init__(self) -> None:
        if not self.server_list:
            raise ValueError("servers: name at least one NATS server URL (nats://host:port)")
        if not self.subject_prefix or any(c in self.subject_prefix for c in " *>\t"):
            raise ValueError(f"subject_prefix {self.subject_prefix!r}: use dot-separated tokens "
                             "without spaces, '*' or '>'")

    @property
    def server_list(self) -> list[str]:
        return [s.strip() for s in self.servers.split(",") if s.strip()]
