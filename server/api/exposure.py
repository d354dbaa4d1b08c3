"""Who can reach the API: a bind beyond loopback is refused until the operator says it is meant.

The server has no authentication yet, so anyone who reaches its ports can register code and
run it on this host. On 127.0.0.1 / ::1 that is the local user only; on any other address it is
the whole network, which an operator must choose explicitly (``--insecure``), never by a typo
in ``--http-host``.
"""

from __future__ import annotations

from wingspan.core.config import Settings
from wingspan.core.errors import ConfigError
from wingspan.core.loopback import is_loopback

__all__ = ["check_exposure", "is_loopback"]


def check_exposure(settings: Settings) -> None:
    """Raises ConfigError when the API would listen beyond loopback without ``insecure``."""
    if settings.insecure:
        return
    exposed = [f"{kind} {host or '(every interface)'}"
               for kind, host in (("--http-host", settings.http_host), ("--grpc-host", settings.grpc_host))
               if not is_loopback(host)]
    if exposed:
        raise ConfigError(
            f"refusing to listen on {' and '.join(exposed)}: this server has no authentication yet, so "
            "anyone who reaches that address could register code and run it on this host. Listen on "
            "127.0.0.1 (the default), or, if a network you trust guards the address, say so with "
            "--insecure (WINGSPAN_INSECURE=1 or insecure = true in the config file)"
        )
