"""The signing keys' private halves, encrypted before they reach the database.

AES-256-GCM (the ``cryptography`` library's) with a key of the server's own: the setting
``key_encryption_key`` (32 bytes, base64) when given (replicas that do not share a home must
share it), else ``$WINGSPAN_HOME/keys.secret``, made at the first start (mode 0600). A sealed
value is bound to its key id (the id is the cipher's associated data), so a sealed key copied
onto another row does not open. Values stored before the keys were sealed still load; the key
ring seals them on its next load.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from typing import final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from wingspan.core.config import Settings
from wingspan.core.errors import ConfigError
from wingspan.core.secret_files import create_once

__all__ = ["KEY_FILE_NAME", "SEALED_PREFIX", "KeySealer"]

KEY_FILE_NAME = "keys.secret"
#: what a sealed value starts with (a plaintext JWK starts with "{")
SEALED_PREFIX = "aes256gcm:"
_NONCE_BYTES = 12


@final
class KeySealer:
    __slots__ = ("_aead",)

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ConfigError(f"the key that encrypts the signing keys must be 32 bytes, not {len(key)}")
        self._aead = AESGCM(key)

    def __repr__(self) -> str:
        return "KeySealer(<hidden>)"

    @classmethod
    def from_settings(cls, settings: Settings) -> KeySealer:
        if settings.key_encryption_key:
            return cls(_decoded(settings.key_encryption_key, "the setting key_encryption_key"))
        path = settings.home / KEY_FILE_NAME
        try:
            create_once(path, base64.b64encode(secrets.token_bytes(32)).decode() + "\n")
            text = path.read_text().strip()
        except OSError as exc:
            raise ConfigError(f"cannot make or read the signing keys' encryption key {path}: {exc}") from exc
        if os.stat(path).st_mode & 0o077:
            raise ConfigError(f"{path} may be read by others; make it private: chmod 600 {path}")
        return cls(_decoded(text, str(path)))

    def seal(self, kid: str, plaintext: str) -> str:
        nonce = secrets.token_bytes(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), kid.encode())
        return SEALED_PREFIX + base64.b64encode(nonce + sealed).decode()

    def open(self, kid: str, stored: str) -> str:
        """The plaintext of ``stored`` (a plaintext value as it is)."""
        if not stored.startswith(SEALED_PREFIX):
            return stored
        raw = base64.b64decode(stored[len(SEALED_PREFIX):])
        try:
            return self._aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], kid.encode()).decode()
        except InvalidTag:
            raise ConfigError(
                f"the signing key {kid} does not open with this server's key_encryption_key (or "
                f"{KEY_FILE_NAME}): every replica needs the same one") from None


def _decoded(text: str, where: str) -> bytes:
    try:
        return base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError(
            f"{where} is not base64 (make one with: head -c 32 /dev/urandom | base64)") from None
