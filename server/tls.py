"""TLS for both ports, with a certificate that can be replaced while the server runs.

:class:`CertificateFiles` holds the PEM certificate chain and key named by ``tls_cert`` and
``tls_key``. Each port gets a context from :meth:`CertificateFiles.server_context` (HTTP offers
``http/1.1``, gRPC ``h2``); at every new connection's handshake it looks at the two files (two
``stat`` calls) and, when either changed, loads them again and hands that connection, and the
ones after it, the new certificate. Connections already open keep theirs. A pair that does not
load (a key written before its certificate, a key others may read) keeps the old one serving
and is reported once in the log, then tried again once the files change again.
"""

from __future__ import annotations

import datetime
import logging
import ssl
import stat
import threading
from collections.abc import Sequence
from pathlib import Path

from wingspan.core.config import Settings
from wingspan.core.errors import ConfigError

__all__ = ["CertificateFiles", "check_key_file"]

log = logging.getLogger("wingspan.server.tls")

#: a certificate ending sooner than this is reported as a warning each time it is loaded
EXPIRY_WARNING = datetime.timedelta(days=14)

_Signature = tuple[tuple[int, int, int], tuple[int, int, int]]


class _EncryptedKeyError(Exception):
    """Raised from the password callback: the key needs a password we do not have."""


def check_key_file(path: Path) -> None:
    """Raises ConfigError when the private key at ``path`` is missing or others may read or write it
    (group access is left to the operator, as Debian's ``ssl-cert`` group uses it)."""
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise ConfigError(f"cannot read the TLS key file {path} (tls_key): {exc.strerror}") from None
    if mode & stat.S_IRWXO:
        raise ConfigError(
            f"refusing the TLS key file {path} (tls_key): its mode {stat.filemode(mode)} lets every user "
            f"of this host read or change the server's private key; make it private with "
            f"`chmod 600 {path}` (or 640 with a group of its own)")


def _signature(cert: Path, key: Path) -> _Signature:
    """What identifies the two files' current contents cheaply: inode, size and change time."""
    def one(path: Path) -> tuple[int, int, int]:
        try:
            st = path.stat()
        except OSError:
            return (0, 0, 0)
        return (st.st_ino, st.st_size, st.st_mtime_ns)

    return one(cert), one(key)


class CertificateFiles:
    """The server's certificate chain and key files, loaded again whenever they change."""

    def __init__(self, cert: Path, key: Path) -> None:
        self.cert = cert
        self.key = key
        self._lock = threading.Lock()
        # the contexts of the pair now served, one per ALPN offer, and that pair's signature
        self._contexts: dict[tuple[str, ...], ssl.SSLContext] = {}
        self._served: _Signature = _signature(cert, key)
        self._refused: _Signature | None = None
        self._load(self._served)  # a pair that does not load stops the start, with the reason

    @classmethod
    def from_settings(cls, settings: Settings) -> CertificateFiles | None:
        """The files ``tls_cert`` and ``tls_key`` name; None when neither is set."""
        if not settings.tls_cert and not settings.tls_key:
            return None
        if not settings.tls_cert or not settings.tls_key:
            given, missing = (("tls_cert", "tls_key") if settings.tls_cert else ("tls_key", "tls_cert"))
            raise ConfigError(f"{given} is set but {missing} is not: TLS needs both the certificate "
                              "chain (--tls-cert) and its private key (--tls-key)")
        return cls(Path(settings.tls_cert).expanduser(), Path(settings.tls_key).expanduser())

    def server_context(self, alpn: Sequence[str]) -> ssl.SSLContext:
        """A server context offering ``alpn``, serving the newest loadable pair to each new connection."""
        base = self._context(tuple(alpn))

        def switch(connection: ssl.SSLObject | ssl.SSLSocket, _server_name: str | None,
                   _context: ssl.SSLContext) -> None:
            # called at every handshake, with or without SNI (clients send none to an IP address)
            newest = self._newest(tuple(alpn))
            if newest is not connection.context:
                connection.context = newest

        base.sni_callback = switch
        return base

    def _context(self, alpn: tuple[str, ...]) -> ssl.SSLContext:
        with self._lock:
            context = self._contexts.get(alpn)
            if context is None:
                context = self._contexts[alpn] = self._build(alpn)
            return context

    def _newest(self, alpn: tuple[str, ...]) -> ssl.SSLContext:
        now = _signature(self.cert, self.key)
        if now != self._served and now != self._refused:
            try:
                self._load(now)
            except ConfigError as exc:
                self._refused = now
                log.error("still serving the previous TLS certificate: %s", exc)
            else:
                log.info("serving the TLS certificate of %s again, changed on disk", self.cert)
        return self._context(alpn)

    def _load(self, signature: _Signature) -> None:
        """Builds every context again from the files; raises ConfigError, keeping the old ones, when
        they do not load."""
        check_key_file(self.key)
        alpns = list(self._contexts) or [()]
        fresh = {alpn: self._build(alpn) for alpn in alpns}
        with self._lock:
            self._contexts = fresh
            self._served = signature
            self._refused = None
        self._report_expiry()

    def _report_expiry(self) -> None:
        """Logs when the certificate now served ends, loudly when that is soon or past."""
        from cryptography import x509  # only with TLS on

        try:
            leaf = x509.load_pem_x509_certificate(self.cert.read_bytes())
        except (OSError, ValueError):
            return  # OpenSSL loaded it: a form cryptography does not read is no reason to stop
        ends = leaf.not_valid_after_utc
        left = ends - datetime.datetime.now(datetime.UTC)
        if left <= datetime.timedelta(0):
            log.error("the TLS certificate %s expired at %s: clients refuse it; write a renewed one over "
                      "the file (it is read again without a restart)", self.cert, ends.isoformat())
        elif left < EXPIRY_WARNING:
            log.warning("the TLS certificate %s expires at %s, in %d days: renew it and write it over the "
                        "file (it is read again without a restart)", self.cert, ends.isoformat(), left.days)
        else:
            log.info("serving the TLS certificate %s for %s until %s", self.cert,
                     leaf.subject.rfc4514_string(), ends.isoformat())

    @staticmethod
    def _no_password() -> str:
        raise _EncryptedKeyError

    def _build(self, alpn: tuple[str, ...]) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        try:
            # an encrypted key would make OpenSSL ask for its password on the terminal, blocking
            context.load_cert_chain(self.cert, self.key, password=self._no_password)
        except _EncryptedKeyError:
            raise ConfigError(f"the TLS key {self.key} is encrypted; the server cannot ask for its password: "
                              f"give it the key unencrypted (`openssl pkey -in {self.key} -out NEW_FILE`), "
                              "readable by the server's user alone") from None
        except FileNotFoundError as exc:
            raise ConfigError(f"cannot read the TLS certificate or key: {exc.filename} does not exist "
                              "(--tls-cert, --tls-key)") from None
        except (ssl.SSLError, OSError) as exc:
            raise ConfigError(
                f"cannot load the TLS certificate {self.cert} with the key {self.key}: {exc}; both must be "
                "PEM files, the certificate first in its chain, and the key the certificate's own") from None
        if alpn:
            context.set_alpn_protocols(list(alpn))
        return context
