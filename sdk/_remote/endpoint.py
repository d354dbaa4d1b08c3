"""Where a client finds its server, one rule for ``Remote`` and every CLI command.

The gRPC ``host:port`` comes from the first of: the ``endpoint`` argument (``--endpoint``),
the environment variable ``WINGSPAN_ENDPOINT``, the key ``endpoint`` of the config file,
and ``127.0.0.1:8089``. The config file is ``$WINGSPAN_CONFIG`` (as for ``wingspan serve``),
else ``$WINGSPAN_HOME/config.toml`` when it exists.

Credentials: the platform has none yet (the server accepts every caller). When it gets
them, they are resolved here by the same rule and travel as :attr:`Endpoint.metadata`,
which the client sends with every call.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping

from wingspan.core.errors import UserError

__all__ = ["DEFAULT_ENDPOINT", "Endpoint", "resolve_endpoint"]

DEFAULT_ENDPOINT = "127.0.0.1:8089"


@dataclasses.dataclass(frozen=True, slots=True)
class Endpoint:
    """A server's gRPC address and what to send with each call."""

    host: str
    port: int
    # (key, value) pairs sent as gRPC metadata with every call: the seam for credentials
    metadata: tuple[tuple[str, str], ...] = ()

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @classmethod
    def parse(cls, text: str, where: str = "endpoint") -> Endpoint:
        host, _, port = text.strip().rpartition(":")
        host = host.strip("[]")  # [::1]:8089
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise UserError(f"{where} {text!r} is not host:port (e.g. {DEFAULT_ENDPOINT})")
        return cls(host, int(port))


def resolve_endpoint(endpoint: str | None = None, *, env: Mapping[str, str] | None = None) -> Endpoint:
    """The endpoint to use: ``endpoint``, else ``WINGSPAN_ENDPOINT``, else the config file's
    ``endpoint``, else 127.0.0.1:8089; each named in the error when it is not host:port."""
    env = os.environ if env is None else env
    if endpoint:
        return Endpoint.parse(endpoint, "--endpoint")
    if env.get("WINGSPAN_ENDPOINT"):
        return Endpoint.parse(env["WINGSPAN_ENDPOINT"], "WINGSPAN_ENDPOINT")
    from wingspan.core.config import Settings, default_home

    config = env.get("WINGSPAN_CONFIG")
    if not config:
        home = env.get("WINGSPAN_HOME")
        candidate = (os.path.expanduser(home) if home else str(default_home())) + "/config.toml"
        config = candidate if os.path.isfile(candidate) else None
    if config:
        # the config file shares Settings' keys; its environment layer was read above
        settings = Settings.load(config_file=config, env={})
        return Endpoint.parse(settings.endpoint, f"endpoint in {config}")
    return Endpoint.parse(DEFAULT_ENDPOINT)
