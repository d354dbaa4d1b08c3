"""Who can reach the API: a bind beyond loopback without authentication is refused until the
operator says it is meant.

A server that does not require tokens lets anyone who reaches its ports register code and
run it on this host. On 127.0.0.1 / ::1 that is the local user only; on any other address it is
the whole network. So beyond loopback authentication is required (``auth = "auto"``, the
default); serving there without it is an explicit choice (``--insecure``, or ``auth = "off"``
with ``--insecure``), never the result of a typo in ``--http-host``.
"""

from __future__ import annotations

from wingspan.core.config import Settings
from wingspan.core.errors import ConfigError
from wingspan.core.loopback import is_loopback

__all__ = ["check_exposure", "is_loopback", "loopback_only"]


def loopback_only(settings: Settings) -> bool:
    """True when both ports listen on loopback addresses only."""
    return is_loopback(settings.http_host) and is_loopback(settings.grpc_host)


def check_exposure(settings: Settings, *, auth_required: bool) -> None:
    """Raises ConfigError when the API would listen beyond loopback with no authentication and
    without ``insecure``."""
    if settings.insecure or auth_required:
        return
    exposed = [f"{kind} {host or '(every interface)'}"
               for kind, host in (("--http-host", settings.http_host), ("--grpc-host", settings.grpc_host))
               if not is_loopback(host)]
    if exposed:
        raise ConfigError(
            f"refusing to listen on {' and '.join(exposed)} with authentication off (auth = "
            f"{settings.auth!r}): anyone who reaches that address could register code and run it on this "
            "host. Require tokens (auth = \"auto\" or \"required\"), listen on 127.0.0.1, or, if a "
            "network you trust guards the address, say so with --insecure (WINGSPAN_INSECURE=1 or "
            "insecure = true in the config file)"
        )
