"""Secrets the server keeps only as hashes: passwords and client secrets (argon2, memory-hard),
and random codes and tokens (SHA-256: they carry 256 bits of chance, nothing to guess)."""

from __future__ import annotations

import functools
import hashlib

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

__all__ = ["digest", "hash_secret", "secret_matches"]


@functools.cache
def _hasher() -> PasswordHasher:
    return PasswordHasher()  # argon2id with the library's current recommended parameters


def hash_secret(secret: str) -> str:
    """An argon2id hash of a password or a client secret, salted (two calls differ)."""
    return _hasher().hash(secret)


def secret_matches(hashed: str, secret: str) -> bool:
    """True when ``secret`` is the one ``hashed`` was made from (False for an empty or foreign hash)."""
    if not hashed:
        return False
    try:
        return _hasher().verify(hashed, secret)
    except (VerificationError, InvalidHashError):
        return False


def digest(value: str) -> str:
    """How a random code or token is stored and looked up: its SHA-256, in hex."""
    return hashlib.sha256(value.encode()).hexdigest()
