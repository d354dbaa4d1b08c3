"""What counts as a loopback address: one rule for the server's bind and Host checks and for the
client's choice of plain text or TLS."""

from __future__ import annotations

import ipaddress
import socket

__all__ = ["is_loopback"]

_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})


def is_loopback(host: str) -> bool:
    """True when every address ``host`` stands for is a loopback address.

    An empty host or a wildcard (0.0.0.0, ::) binds every interface: not loopback. A name other
    than localhost is resolved, and counts only if all its addresses are loopback ones.
    """
    name = host.strip().strip("[]").lower()
    if not name:
        return False
    if name in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        pass
    try:
        found = socket.getaddrinfo(name, None)
    except OSError:
        return False
    addresses = {str(info[4][0]) for info in found}
    return bool(addresses) and all(ipaddress.ip_address(a.split("%", 1)[0]).is_loopback for a in addresses)
