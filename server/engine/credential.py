"""The engine credential: what an engine presents to the internal engine service.

Until the platform authenticates callers (OAuth2 client credentials), the credential
is one random token kept in ``$WINGSPAN_HOME/engine.secret``: made at the server's
first start (mode 0600, written aside and linked into place, so that of two processes
racing one wins and neither reads a half-written file), reused after. A caller sends
it as gRPC metadata ``authorization: Bearer <token>``, the header an OAuth2 access
token will ride in; the service checks it through :class:`TokenVerifier`, which is
what an OAuth2 verifier will implement in its place.
"""

from __future__ import annotations

import hmac
import secrets
from pathlib import Path
from typing import Protocol, final

from wingspan.core.errors import ConfigError
from wingspan.core.secret_files import create_once

__all__ = ["SECRET_FILE_NAME", "EngineCredential", "TokenVerifier"]

SECRET_FILE_NAME = "engine.secret"
_MIN_TOKEN_CHARS = 32


class TokenVerifier(Protocol):
    """Says whether a bearer token presented by a caller is an engine's."""

    def verify(self, token: str) -> bool: ...


@final
class EngineCredential:
    """The engine token: :meth:`metadata` for a caller, :meth:`verify` for the service."""

    __slots__ = ("_token",)

    def __init__(self, token: str) -> None:
        if len(token) < _MIN_TOKEN_CHARS:
            raise ConfigError(f"the engine token must be at least {_MIN_TOKEN_CHARS} characters")
        self._token = token

    def __repr__(self) -> str:  # never the token itself, in logs or tracebacks
        return "EngineCredential(<hidden>)"

    @classmethod
    def load(cls, home: Path) -> EngineCredential:
        """The token of ``home/engine.secret``, made first if there is none."""
        path = home / SECRET_FILE_NAME
        try:
            return cls._read(path)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise ConfigError(f"cannot read the engine credential {path}: {exc}") from exc
        try:
            create_once(path, secrets.token_urlsafe(32) + "\n")
            return cls._read(path)
        except OSError as exc:
            raise ConfigError(f"cannot create the engine credential {path}: {exc}") from exc

    @classmethod
    def _read(cls, path: Path) -> EngineCredential:
        token = path.read_text().strip()
        if len(token) < _MIN_TOKEN_CHARS:
            raise ConfigError(
                f"engine credential file {path} holds {len(token)} characters, fewer than "
                f"{_MIN_TOKEN_CHARS}; delete it and restart the server to make a new one"
            )
        return cls(token)

    def metadata(self) -> dict[str, str]:
        """The gRPC metadata a call to the engine service carries."""
        return {"authorization": f"Bearer {self._token}"}

    def verify(self, token: str) -> bool:
        # constant time: a caller learns nothing from how long a wrong guess took
        return hmac.compare_digest(token.encode(), self._token.encode())
