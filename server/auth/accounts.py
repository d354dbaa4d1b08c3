"""Local users and OAuth2 clients: who may obtain a token, and with what secret.

Users log in with a password (authorization code with PKCE, device flow); service accounts
hold a client secret (client credentials grant). Both are kept as argon2id hashes. The CLI's
client (``wingspan-cli``) is public and built in: it has no secret, and proves itself with
PKCE and a loopback redirect instead.
"""

from __future__ import annotations

import functools
import secrets
from collections.abc import Sequence
from typing import final

import anyio.to_thread
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from wingspan.core.errors import AlreadyExistsError, InvalidArgumentError
from wingspan.server.auth.passwords import hash_secret, secret_matches
from wingspan.server.db.engine import Database, is_unique_violation, now
from wingspan.server.db.models import OAuthClientRow, UserRow

__all__ = ["CLI_CLIENT_ID", "CONSOLE_CLIENT_ID", "ENGINE_CLIENT_ID", "MIN_PASSWORD_CHARS", "Accounts"]

#: the public client of the CLI and the SDK's Remote
CLI_CLIENT_ID = "wingspan-cli"
#: the web console's client: the server itself, redirected to its own /auth/callback
CONSOLE_CLIENT_ID = "wingspan-console"
#: the service account of engine replicas; its secret is WINGSPAN_HOME/engine.secret
ENGINE_CLIENT_ID = "engine"
MIN_PASSWORD_CHARS = 12
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.@-")


@functools.cache
def _absent() -> str:
    """Compared against when a user does not exist, so that a wrong name takes as long as a
    wrong password."""
    return hash_secret(secrets.token_urlsafe(16))


async def _hash(secret: str) -> str:
    # argon2 is memory-hard and slow on purpose: off the event loop
    return await anyio.to_thread.run_sync(hash_secret, secret)


async def _matches(hashed: str, secret: str) -> bool:
    return await anyio.to_thread.run_sync(lambda: secret_matches(hashed or _absent(), secret))


@final
class Accounts:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add_user(self, name: str, password: str) -> None:
        _check_name(name, "user")
        if len(password) < MIN_PASSWORD_CHARS:
            raise InvalidArgumentError(
                f"the password of {name} has {len(password)} characters; use at least {MIN_PASSWORD_CHARS}")
        try:
            async with self.db.write() as session:
                session.add(UserRow(name=name, password_hash=await _hash(password), created_at=now()))
        except IntegrityError as exc:
            if is_unique_violation(exc):
                raise AlreadyExistsError(f"user {name} exists already") from exc
            raise

    async def users(self) -> Sequence[str]:
        async with self.db.read() as session:
            return list((await session.execute(select(UserRow.name).order_by(col(UserRow.name)))).scalars())

    async def password_matches(self, name: str, password: str) -> bool:
        async with self.db.read() as session:
            row = await session.get(UserRow, name)
        return await _matches(row.password_hash if row else "", password) and row is not None

    async def set_service_account(self, client_id: str, secret: str = "") -> str:
        """Creates the service account ``client_id``, or gives it a new secret; returns the secret
        (a new random one when ``secret`` is empty)."""
        _check_name(client_id, "service account")
        if client_id in (CLI_CLIENT_ID, CONSOLE_CLIENT_ID):
            raise InvalidArgumentError(f"{client_id} is a built-in public client, not a service account")
        secret = secret or secrets.token_urlsafe(32)
        async with self.db.read() as session:
            row = await session.get(OAuthClientRow, client_id)
        if row is not None and await _matches(row.secret_hash, secret):
            return secret  # as it is (each server start says so for the engines' account)
        hashed = await _hash(secret)
        async with self.db.write() as session:
            row = await session.get(OAuthClientRow, client_id)
            if row is None:
                session.add(OAuthClientRow(client_id=client_id, secret_hash=hashed, created_at=now()))
            else:
                row.secret_hash = hashed
        return secret

    async def client_secret_matches(self, client_id: str, secret: str) -> bool:
        async with self.db.read() as session:
            row = await session.get(OAuthClientRow, client_id)
        return await _matches(row.secret_hash if row else "", secret) and row is not None


def _check_name(name: str, kind: str) -> None:
    if not name or len(name) > 255 or not set(name) <= _NAME_CHARS or name.startswith("group:"):
        raise InvalidArgumentError(
            f"{kind} name {name[:60]!r} is not valid: use 1 to 255 letters, digits and _ . @ -")
