"""Fixtures of the auth suite: a migrated database and its key ring, a live server requiring
tokens with its users, service accounts and bindings, and the check that no secret the suite
used ever reached a log line."""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.integration.services.conftest import backend, db_url  # noqa: F401 - SQLite and PostgreSQL
from tests.real.conftest import postgres_env  # noqa: F401 - the session fixture, shared
from tests.unit.auth.used_secrets import SECRETS, secret
from wingspan.core.config import Settings
from wingspan.server.auth.keys import KeyRing
from wingspan.server.auth.roles import Role
from wingspan.server.auth.sealing import KeySealer
from wingspan.server.cli import QUIET_LOGGERS
from wingspan.server.db.engine import Database
from wingspan.server.db.migrate import migrate
from wingspan.server.serve import ApiServer

ISSUER = "http://127.0.0.1:8080"
#: what encrypts the key rings' keys that tests make themselves
SEALER = KeySealer(secrets.token_bytes(32))
PROJECT, DOMAIN = "default", "development"
PASSWORDS = {"ada": "ada-password-0001", "alice": "alice-password-01", "vic": "vic-password-0001",
             "olga": "olga-password-001"}


# the loggers of the HTTP client the tests drive as a person's browser: it follows the redirect
# that carries a code, as a browser does, and logs its URL (a browser keeps that to itself). Every
# other logger, the server's and the client library's included, is checked.
_BROWSER_LOGGERS = frozenset({"httpx", "httpcore"})


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.split(".")[0] in _BROWSER_LOGGERS:
            return
        try:
            self.lines.append(self.format(record))
        except Exception:  # a record that cannot be formatted is not a leak
            self.lines.append(str(record.msg))


@pytest.fixture(scope="session", autouse=True)
def no_secret_in_any_log_line() -> Iterator[None]:
    """Every log record of the whole auth suite, at every level, formatted with its traceback;
    at the end none may hold a secret the suite used (issue #18 item 8)."""
    handler = _Collect()
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    # as `wingspan serve -v` sets them: every logger at DEBUG but those whose debug lines carry
    # values (the database drivers', hpack's)
    drivers = [logging.getLogger(name) for name in QUIET_LOGGERS]
    before = root.level, [d.level for d in drivers]
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    for driver in drivers:
        driver.setLevel(logging.INFO)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(before[0])
        for driver, level in zip(drivers, before[1], strict=True):
            driver.setLevel(level)
    assert handler.lines, "the suite logged nothing: the check would prove nothing"
    leaked = sorted({s[:6] + "..." for s in SECRETS for line in handler.lines if s in line})
    assert not leaked, f"secrets in the logs of the auth suite: {leaked}"


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:  # noqa: F811 - the imported fixture
    database = Database(db_url)
    await migrate(database)
    try:
        yield database
    finally:
        await database.dispose()


@pytest.fixture
def keys(db: Database) -> KeyRing:
    return KeyRing(db, sign_seconds=3600, token_seconds=900, sealer=SEALER)


@pytest.fixture
async def secured(tmp_path: Path, db_url: str) -> AsyncIterator[ApiServer]:  # noqa: F811
    """A server on loopback that requires tokens (``auth = "required"``), without the engine, on
    SQLite (fast tier) and PostgreSQL (``real``).

    ada is the deployment-wide admin, alice a contributor and vic a viewer of default/development,
    olga an admin of another project only; the service account ``ci`` holds contributor there
    through the group-less binding of its client id."""
    settings = Settings(home=tmp_path / "home", http_port=0, grpc_port=0, auth="required", db_url=db_url)
    async with ApiServer(settings, grace=2, engine=False) as server:
        auth = server.auth
        assert auth is not None and auth.required
        for name, password in PASSWORDS.items():
            await auth.accounts.add_user(name, secret(password))
        secret(await auth.accounts.set_service_account("ci", CI_SECRET))
        await auth.bindings.grant("ada", Role.ADMIN)
        await auth.bindings.grant("alice", Role.CONTRIBUTOR, PROJECT, DOMAIN)
        await auth.bindings.grant("vic", Role.VIEWER, PROJECT, DOMAIN)
        await auth.bindings.grant("olga", Role.ADMIN, "other", "*")
        await auth.bindings.grant("ci", Role.CONTRIBUTOR, PROJECT, "*")
        assert server.engine_credential is not None
        secret(server.engine_credential.secret)
        secret(str((await auth.keys.signer()).as_dict(private=True)["d"]))  # the signing key
        yield server


CI_SECRET = secret("ci-secret-of-the-test-suite-0001")
