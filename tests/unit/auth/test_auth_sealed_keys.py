"""The token signing keys are encrypted in the database (AES-GCM, a key of the server's own kept
0600 in WINGSPAN_HOME or given as a setting); keys stored in plaintext before still load, and are
sealed on the next load."""

from __future__ import annotations

import base64
import json
import secrets
import stat
from datetime import timedelta
from pathlib import Path

import pytest
from joserfc.jwk import ECKey
from sqlmodel import select

from tests.unit.auth.used_secrets import secret
from wingspan.core.config import Settings
from wingspan.core.errors import ConfigError
from wingspan.server.auth.keys import KeyRing
from wingspan.server.auth.sealing import KEY_FILE_NAME, SEALED_PREFIX, KeySealer
from wingspan.server.db.engine import Database, now
from wingspan.server.db.models import SigningKeyRow
from wingspan.server.serve import ApiServer


async def _stored(db: Database) -> list[SigningKeyRow]:
    async with db.read() as session:
        return list((await session.execute(select(SigningKeyRow))).scalars())


async def test_the_database_holds_no_private_key_material(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home", http_port=0, grpc_port=0, auth="required")
    async with ApiServer(settings, grace=2, engine=False) as server:
        assert server.auth is not None
        private = secret(str((await server.auth.keys.signer()).as_dict(private=True)["d"]))
        rows = await _stored(server.admin.db)
    assert rows and all(r.private_jwk.startswith(SEALED_PREFIX) for r in rows)
    assert not any(private in r.private_jwk or '"d"' in r.private_jwk for r in rows)
    stored = b"".join(p.read_bytes() for p in (tmp_path / "home" / "db").iterdir() if p.is_file())
    assert private.encode() not in stored
    key_file = tmp_path / "home" / KEY_FILE_NAME
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    # the next start opens them with the same file
    async with ApiServer(settings, grace=2, engine=False) as again:
        assert again.auth is not None
        assert str((await again.auth.keys.signer()).as_dict(private=True)["d"]) == private


async def test_plaintext_keys_of_before_still_load_and_are_sealed(db: Database) -> None:
    old = ECKey.generate_key("P-256", parameters={"kid": "before", "use": "sig", "alg": "ES256"})
    secret(str(old.as_dict(private=True)["d"]))
    async with db.write() as session:
        at = now()
        session.add(SigningKeyRow(kid="before", private_jwk=json.dumps(old.as_dict(private=True)),
                                  created_at=at, sign_until=at + timedelta(hours=1),
                                  publish_until=at + timedelta(hours=2)))
    ring = KeyRing(db, sign_seconds=3600, token_seconds=900, sealer=KeySealer(secrets.token_bytes(32)))
    found = await ring.find("before")
    assert found is not None and found.as_dict(private=True)["d"] == old.as_dict(private=True)["d"]
    assert (await ring.signer()).kid == "before"
    [row] = await _stored(db)
    assert row.private_jwk.startswith(SEALED_PREFIX)
    assert str(old.as_dict(private=True)["d"]) not in row.private_jwk


async def test_a_replica_with_another_key_is_told_to_share_it(db: Database) -> None:
    first = KeyRing(db, sign_seconds=3600, token_seconds=900, sealer=KeySealer(secrets.token_bytes(32)))
    await first.signer()
    other = KeyRing(db, sign_seconds=3600, token_seconds=900, sealer=KeySealer(secrets.token_bytes(32)))
    with pytest.raises(ConfigError, match="every replica needs the same one"):
        await other.signer()


def test_the_setting_replaces_the_file_and_a_bad_one_is_named(tmp_path: Path) -> None:
    given = base64.b64encode(secrets.token_bytes(32)).decode()
    sealer = KeySealer.from_settings(Settings(home=tmp_path, key_encryption_key=given))
    assert sealer.open("k", KeySealer(base64.b64decode(given)).seal("k", "text")) == "text"
    assert not (tmp_path / KEY_FILE_NAME).exists()
    with pytest.raises(ConfigError, match="key_encryption_key is not base64"):
        KeySealer.from_settings(Settings(home=tmp_path, key_encryption_key="not base64!"))
    with pytest.raises(ConfigError, match="must be 32 bytes, not 16"):
        short = base64.b64encode(bytes(16)).decode()
        KeySealer.from_settings(Settings(home=tmp_path, key_encryption_key=short))
    # a sealed value is bound to its key id
    with pytest.raises(ConfigError):
        sealer.open("other", sealer.seal("k", "text"))
