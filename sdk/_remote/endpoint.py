"""Where a client finds its server, and how it talks to it: one rule for ``Remote`` and every
CLI command.

The gRPC ``host:port`` comes from the first of: the ``endpoint`` argument (``--endpoint``),
the environment variable ``WINGSPAN_ENDPOINT``, the key ``endpoint`` of the config file,
and ``127.0.0.1:8089``. The config file is ``$WINGSPAN_CONFIG`` (as for ``wingspan serve``),
else ``$WINGSPAN_HOME/config.toml`` when it exists.

TLS: ``https://host:port`` always uses it and ``http://host:port`` never does (the caller's
explicit choice); a bare ``host:port`` uses it unless the host is a loopback address and no CA is
named, so a laptop's ``wingspan serve`` needs nothing while a server on the network is never
spoken to in plain text by accident. The server's certificate is checked against the system's
trusted CAs plus the CA file from ``ca`` (``--ca``), ``WINGSPAN_CA`` or the config file's ``ca``;
the certificate must name the host as given.

Credentials: the platform has none yet (the server accepts every caller). When it gets
them, they are resolved here by the same rule and travel as :attr:`Endpoint.metadata`,
which the client sends with every call.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import ssl
from collections.abc import Mapping

from wingspan.core.errors import UserError
from wingspan.core.loopback import is_loopback

__all__ = ["DEFAULT_ENDPOINT", "Endpoint", "resolve_endpoint"]

DEFAULT_ENDPOINT = "127.0.0.1:8089"


@dataclasses.dataclass(frozen=True, slots=True)
class Endpoint:
    """A server's gRPC address, whether it is spoken to over TLS, and what to send with each call."""

    host: str
    port: int
    # (key, value) pairs sent as gRPC metadata with every call: the seam for credentials
    metadata: tuple[tuple[str, str], ...] = ()
    tls: bool = False
    # a CA file trusted beside the system store (empty: the system store alone)
    ca: str = ""

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @classmethod
    def parse(cls, text: str, where: str = "endpoint", *, ca: str = "") -> Endpoint:
        """``[https://|http://]host:port``; see the module's doc for when TLS is used."""
        scheme, sep, rest = text.strip().partition("://")
        if not sep:
            scheme, rest = "", scheme
        if scheme not in ("", "http", "https"):
            raise UserError(f"{where} {text!r} names the scheme {scheme!r}: use host:port, https://host:port "
                            "(TLS) or http://host:port (plain text)")
        host, _, port = rest.rstrip("/").rpartition(":")
        host = host.strip("[]")  # [::1]:8089
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise UserError(f"{where} {text!r} is not host:port (e.g. {DEFAULT_ENDPOINT})")
        tls = scheme == "https" or (not scheme and (bool(ca) or not is_loopback(host)))
        return cls(host, int(port), tls=tls, ca=ca if tls else "")

    def grpc_ssl(self) -> ssl.SSLContext | None:
        """The context of a gRPC channel to this server (None: plain text)."""
        return _client_context(self.ca, ("h2",)) if self.tls else None

    def http_verify(self) -> ssl.SSLContext:
        """What checks the server's HTTPS certificate (signed URLs of its data proxy)."""
        return _client_context(self.ca, ("http/1.1",))


@functools.lru_cache(maxsize=8)
def _client_context(ca: str, alpn: tuple[str, ...]) -> ssl.SSLContext:
    context = ssl.create_default_context()  # the system store; hostnames checked
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if ca:
        try:
            context.load_verify_locations(cafile=ca)
        except FileNotFoundError:
            raise UserError(f"the CA file {ca} (--ca, WINGSPAN_CA or ca in the config file) does not "
                            "exist") from None
        except (ssl.SSLError, OSError) as exc:
            raise UserError(f"cannot read the CA file {ca} (--ca, WINGSPAN_CA or ca in the config file) "
                            f"as PEM certificates: {exc}") from None
    context.set_alpn_protocols(list(alpn))
    return context


def resolve_endpoint(endpoint: str | None = None, *, ca: str | None = None,
                     env: Mapping[str, str] | None = None) -> Endpoint:
    """The endpoint to use: ``endpoint``, else ``WINGSPAN_ENDPOINT``, else the config file's
    ``endpoint``, else 127.0.0.1:8089; each named in the error when it is not host:port. Its CA
    file: ``ca``, else ``WINGSPAN_CA``, else the config file's ``ca``."""
    env = os.environ if env is None else env
    config = _config_file(env)
    ca = ca or env.get("WINGSPAN_CA") or ""
    settings = None
    if config:
        from wingspan.core.config import Settings

        # the config file shares Settings' keys; its environment layer was read above
        settings = Settings.load(config_file=config, env={})
        ca = ca or settings.ca
    ca = os.path.expanduser(ca) if ca else ""
    if endpoint:
        return Endpoint.parse(endpoint, "--endpoint", ca=ca)
    if env.get("WINGSPAN_ENDPOINT"):
        return Endpoint.parse(env["WINGSPAN_ENDPOINT"], "WINGSPAN_ENDPOINT", ca=ca)
    if settings is not None:
        return Endpoint.parse(settings.endpoint, f"endpoint in {config}", ca=ca)
    return Endpoint.parse(DEFAULT_ENDPOINT, ca=ca)


def _config_file(env: Mapping[str, str]) -> str | None:
    config = env.get("WINGSPAN_CONFIG")
    if config:
        return config
    from wingspan.core.config import default_home

    home = env.get("WINGSPAN_HOME")
    candidate = (os.path.expanduser(home) if home else str(default_home())) + "/config.toml"
    return candidate if os.path.isfile(candidate) else None
