"""The engine credential: the client secret of the engines' service account.

One random secret kept in ``$WINGSPAN_HOME/engine.secret``: made at the server's first
start (mode 0600, written aside and linked into place, so that of two processes racing
one wins and neither reads a half-written file), reused after. The server makes it the
secret of the service account ``engine`` (server/auth/accounts.py); an engine exchanges
it for a short-lived access token with the OAuth2 client credentials grant and presents
that token to the internal engine service, which accepts service accounts only. The
secret itself is never sent on a call, so a token that leaks expires within minutes.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import final

from wingspan.core.errors import ConfigError
from wingspan.core.secret_files import create_once

__all__ = ["SECRET_FILE_NAME", "EngineCredential"]

SECRET_FILE_NAME = "engine.secret"
_MIN_TOKEN_CHARS = 32


@final
class EngineCredential:
    """The engines' client secret (:attr:`secret`), never shown by ``repr``."""

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

    @property
    def secret(self) -> str:
        return self._token
