"""Signed, expiring URLs for blobs in the local folder store, served by the server's HTTP port.

A signed URL looks like::

    http://HOST:PORT/api/v1/blobs/<key>?method=GET&expires=<unix seconds>&signature=<hex>

where ``<key>`` is the blob's key below the store root (percent-encoded) and
``signature`` is HMAC-SHA256 over ``method``, ``expires`` and the key. An upload URL
also carries ``max_bytes``, the largest body it accepts (signed too, so a client
cannot raise it; the server enforces it while the body streams in). The host is
not signed, so a proxy may rewrite it. The server calls :func:`verify` (or
:meth:`UrlSigner.verify`) with the request target; it returns the checked key or
raises :class:`SignatureError` when the URL is expired, altered, or used with
another method than the one signed.

The key comes from ``Settings.signing_key`` or, when that is empty, from
``$WINGSPAN_HOME/signing.key``, generated once with mode 0600.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import secrets
import time
from datetime import timedelta
from pathlib import Path
from typing import Literal, final
from urllib.parse import parse_qs, quote, unquote, urlsplit

from wingspan.core.config import Settings
from wingspan.core.errors import ConfigError, PermissionDeniedError
from wingspan.core.secret_files import create_once
from wingspan.core.storage.uris import InvalidUriError, check_key

__all__ = [
    "BLOB_ROUTE",
    "KEY_FILE_NAME",
    "MAX_EXPIRY",
    "SignatureError",
    "SignedBlob",
    "UrlSigner",
    "load_signing_key",
    "verify",
]

BLOB_ROUTE = "/api/v1/blobs/"
KEY_FILE_NAME = "signing.key"
MAX_EXPIRY = timedelta(days=7)
_MIN_KEY_BYTES = 16

Method = Literal["GET", "PUT"]
_METHODS: dict[str, Method] = {"GET": "GET", "PUT": "PUT"}


class SignatureError(PermissionDeniedError):
    """A signed blob URL is malformed, altered, expired or used with the wrong method."""


@dataclasses.dataclass(frozen=True, slots=True)
class SignedBlob:
    """What a verified URL grants: ``method`` on the blob ``key`` until ``expires``."""

    key: str
    method: Method
    expires: int
    #: the largest body an upload may have (None: no limit was signed)
    max_bytes: int | None = None


def load_signing_key(settings: Settings) -> bytes:
    """``settings.signing_key``, else the key kept in ``home/signing.key`` (made once, 0600)."""
    if settings.signing_key:
        key = settings.signing_key.encode()
        if len(key) < _MIN_KEY_BYTES:
            raise ConfigError(
                f"setting 'signing_key' is {len(key)} bytes; use at least {_MIN_KEY_BYTES} "
                "(or leave it empty to have one generated under WINGSPAN_HOME)"
            )
        return key
    path = settings.home / KEY_FILE_NAME
    try:
        return _read_key_file(path)
    except FileNotFoundError:
        pass
    try:
        create_once(path, secrets.token_hex(32) + "\n")
        return _read_key_file(path)
    except OSError as exc:
        raise ConfigError(f"cannot create the URL signing key {path}: {exc}") from exc


def _read_key_file(path: Path) -> bytes:
    key = path.read_text().strip().encode()
    if len(key) < _MIN_KEY_BYTES:
        raise ConfigError(f"signing key file {path} holds {len(key)} bytes; delete it to regenerate")
    return key


def _signature(secret: bytes, method: str, expires: int, key: str, max_bytes: int | None) -> str:
    limit = "" if max_bytes is None else f"\n{max_bytes}"
    message = f"{method}\n{expires}\n{key}{limit}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


@final
class UrlSigner:
    """Signs and verifies blob URLs with one secret, for one server base URL."""

    __slots__ = ("_base_url", "_secret")

    def __init__(self, secret: bytes, base_url: str) -> None:
        if len(secret) < _MIN_KEY_BYTES:
            raise ConfigError(f"URL signing key must be at least {_MIN_KEY_BYTES} bytes")
        self._secret = secret
        self._base_url = base_url.rstrip("/")

    @classmethod
    def from_settings(cls, settings: Settings, *, base_url: str | None = None) -> UrlSigner:
        """A signer whose URLs point at the server's HTTP port from ``settings`` (https with TLS)."""
        scheme = "https" if settings.tls_cert else "http"
        host = f"[{settings.http_host}]" if ":" in settings.http_host else settings.http_host
        base = base_url or f"{scheme}://{host}:{settings.http_port}"
        return cls(load_signing_key(settings), base)

    @property
    def base_url(self) -> str:
        return self._base_url

    def sign(self, key: str, *, method: Method = "GET", expires_in: timedelta = timedelta(hours=1),
             now: float | None = None, max_bytes: int | None = None) -> str:
        """A URL granting ``method`` on blob ``key`` (relative to the store root) for a while;
        an upload's body at most ``max_bytes`` long when given."""
        if method not in _METHODS:
            raise ValueError(f"method must be one of {', '.join(_METHODS)}, not {method!r}")
        if not timedelta(0) < expires_in <= MAX_EXPIRY:
            raise ValueError(f"expires_in must be positive and at most {MAX_EXPIRY}, not {expires_in}")
        check_key(key)
        expires = int((time.time() if now is None else now) + expires_in.total_seconds())
        if max_bytes is not None and max_bytes < 0:
            raise ValueError(f"max_bytes must be at least 0, not {max_bytes}")
        signature = _signature(self._secret, method, expires, key, max_bytes)
        limit = "" if max_bytes is None else f"&max_bytes={max_bytes}"
        return (f"{self._base_url}{BLOB_ROUTE}{quote(key, safe='/')}"
                f"?method={method}&expires={expires}{limit}&signature={signature}")

    def verify(self, target: str, *, request_method: str | None = None,
               now: float | None = None) -> SignedBlob:
        """Checks a signed URL (or the request's path and query); see :func:`verify`."""
        return verify(target, self._secret, request_method=request_method, now=now)


def verify(target: str, secret: bytes, *, request_method: str | None = None,
           now: float | None = None) -> SignedBlob:
    """Checks a signed blob URL, whole or as the request target (``/api/v1/blobs/...?...``).

    ``request_method`` is the HTTP method of the request, which must match the signed
    one (``HEAD`` counts as ``GET``). Returns the granted blob; raises SignatureError.
    """
    parts = urlsplit(target)
    if not parts.path.startswith(BLOB_ROUTE):
        raise SignatureError(f"not a blob URL: the path must start with {BLOB_ROUTE}")
    key = unquote(parts.path[len(BLOB_ROUTE):])
    try:
        check_key(key)
    except InvalidUriError as exc:
        raise SignatureError(f"invalid blob key in signed URL: {exc}") from exc
    query = parse_qs(parts.query, keep_blank_values=True)
    fields: dict[str, str] = {}
    for name in ("method", "expires", "signature"):
        values = query.get(name, [])
        if len(values) != 1:
            raise SignatureError(f"signed blob URL needs exactly one {name!r} parameter")
        fields[name] = values[0]
    method = _METHODS.get(fields["method"])
    if method is None:
        raise SignatureError(f"signed blob URL has unknown method {fields['method']!r}")
    try:
        expires = int(fields["expires"])
    except ValueError:
        raise SignatureError("signed blob URL has a non-integer 'expires'") from None
    limits = query.get("max_bytes", [])
    if len(limits) > 1 or (limits and not limits[0].isdigit()):
        raise SignatureError("signed blob URL has a malformed 'max_bytes'")
    max_bytes = int(limits[0]) if limits else None
    expected = _signature(secret, method, expires, key, max_bytes)
    if not hmac.compare_digest(expected, fields["signature"]):
        raise SignatureError("signed blob URL has a wrong signature (altered, or another key)")
    if expires <= (time.time() if now is None else now):
        raise SignatureError(f"signed blob URL expired at {expires} (unix time)")
    if request_method is not None:
        used = "GET" if request_method.upper() == "HEAD" else request_method.upper()
        if used != method:
            raise SignatureError(f"URL is signed for {method}, not for {request_method.upper()}")
    return SignedBlob(key=key, method=method, expires=expires, max_bytes=max_bytes)
