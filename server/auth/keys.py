"""The keys that sign this server's access tokens, kept in the database so replicas share them.

One key signs at a time, for ``signing_key_seconds``; then a new one takes over (made by the
first replica that needs it). A retired key stays published in the JWKS until every token it
signed has expired, so rotation never refuses a valid token. Keys are ES256 (P-256), made and
used by joserfc; their private halves are stored encrypted (:mod:`.sealing`).
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from datetime import datetime, timedelta
from typing import Any, final

from joserfc.jwk import ECKey, KeySet
from sqlalchemy import delete, update
from sqlmodel import col, select

from wingspan.server.auth.sealing import SEALED_PREFIX, KeySealer
from wingspan.server.db.engine import Database, now, utc
from wingspan.server.db.models import SigningKeyRow

__all__ = ["ALGORITHM", "KeyRing"]

ALGORITHM = "ES256"
#: an unknown key id sends a verifier back to the database at most this often (another replica
#: may have made the key), so a flood of made-up key ids costs one query a second
_RELOAD_SECONDS = 1.0


@final
class KeyRing:
    """The signing keys: :meth:`signer` for an issuer, :meth:`find` and :meth:`jwks` for verifiers."""

    def __init__(self, db: Database, *, sign_seconds: int, token_seconds: int, sealer: KeySealer) -> None:
        self.db = db
        self.sealer = sealer
        self.sign_seconds = sign_seconds
        # a retired key is published this long after it stops signing
        self.publish_after_seconds = token_seconds + 300
        self._keys: dict[str, ECKey] = {}
        self._signer: tuple[str, datetime] | None = None
        self._loaded_at = 0.0
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:  # never the keys
        return f"KeyRing({len(self._keys)} keys)"

    async def signer(self) -> ECKey:
        """The key to sign with now, made first when none signs any more."""
        if self._signer is None or self._signer[1] <= now():
            async with self._lock:
                await self._load()
                if self._signer is None or self._signer[1] <= now():
                    await self._make()
        assert self._signer is not None
        return self._keys[self._signer[0]]

    async def find(self, kid: str) -> ECKey | None:
        """The published key ``kid`` (None when it is unknown or no longer published)."""
        if kid not in self._keys and time.monotonic() - self._loaded_at >= _RELOAD_SECONDS:
            async with self._lock:
                await self._load()
        return self._keys.get(kid)

    async def jwks(self) -> dict[str, Any]:
        """The public halves of every published key, as a JWK set."""
        await self.signer()  # a server answering its JWKS has a key to publish
        async with self._lock:
            await self._load()
        return dict(KeySet(list(self._keys.values())).as_dict(private=False))

    async def rotate(self) -> str:
        """A new key signs from now on (the old one stays published); returns its key id."""
        async with self._lock:
            at = now()
            async with self.db.write() as session:
                await session.execute(update(SigningKeyRow).where(col(SigningKeyRow.sign_until) > at)
                                      .values(sign_until=at))
            await self._make()
        assert self._signer is not None
        return self._signer[0]

    async def _load(self) -> None:
        at = now()
        async with self.db.write() as session:
            await session.execute(delete(SigningKeyRow).where(col(SigningKeyRow.publish_until) < at))
            rows = list((await session.execute(select(SigningKeyRow))).scalars())
            for row in rows:
                if not row.private_jwk.startswith(SEALED_PREFIX):  # stored before keys were sealed
                    row.private_jwk = self.sealer.seal(row.kid, row.private_jwk)
        self._keys = {row.kid: ECKey.import_key(json.loads(self.sealer.open(row.kid, row.private_jwk)))
                      for row in rows}
        signing = [row for row in rows if utc(row.sign_until) > at]
        newest = max(signing, key=lambda row: utc(row.created_at), default=None)
        self._signer = (newest.kid, utc(newest.sign_until)) if newest else None
        self._loaded_at = time.monotonic()

    async def _make(self) -> None:
        kid = secrets.token_urlsafe(12)
        key = ECKey.generate_key("P-256", parameters={"kid": kid, "use": "sig", "alg": ALGORITHM})
        at = now()
        sign_until = at + timedelta(seconds=self.sign_seconds)
        sealed = self.sealer.seal(kid, json.dumps(key.as_dict(private=True)))
        row = SigningKeyRow(kid=kid, private_jwk=sealed, created_at=at,
                            sign_until=sign_until,
                            publish_until=sign_until + timedelta(seconds=self.publish_after_seconds))
        async with self.db.write() as session:
            session.add(row)
        self._keys[kid] = key
        self._signer = (kid, sign_until)
