"""Fixtures for tests against real services (marker ``real``), started through scripts.testenv.

Each service is ensured once per session (reused when ``scripts/test`` or an earlier
run already started it), so ``pytest tests/real`` works on its own. A service that
cannot start fails the tests that need it, loudly and with the reason; never a skip.

- ``postgres_env`` (session): ``WINGSPAN_TEST_PG_URL`` (SQLAlchemy + asyncpg) and
  ``WINGSPAN_TEST_PG_DSN`` (libpq); ``pg_url`` and ``pg_dsn`` give each one.
- ``minio_env`` (session): ``WINGSPAN_TEST_S3_ENDPOINT``, ``_ACCESS_KEY``,
  ``_SECRET_KEY``, ``_REGION``.
- ``s3_settings``: Settings whose storage is a fresh prefix in the test bucket.
- ``s3_store``: an open S3BlobStore on that prefix (5 MiB parts, so multipart shows
  with small objects); everything below it is deleted afterwards.
- ``s3_server``: a server with its engine, keeping its data in MinIO under ``s3_settings``'
  prefix (emptied afterwards); its worker processes get the store's settings by environment.
- ``azurite_env`` / ``fakegcs_env`` (session): ``WINGSPAN_TEST_AZURE_*`` (Azurite's endpoint,
  account and key) and ``WINGSPAN_TEST_GCS_*`` (fake-gcs-server's endpoint and project).
- ``gcs_token_endpoint`` (session): a loopback OAuth token endpoint that checks the service
  account's JWT as Google documents it, and a credentials file whose ``token_uri`` names it.
- ``store_settings`` / ``blob_store`` / ``store_server``: the same, for each object store in
  turn (parametrized ``s3``, ``azure``, ``gcs``; see tests/real/stores.py).
- ``keycloak_env`` (session): ``WINGSPAN_TEST_KEYCLOAK_*`` (issuer URL, a confidential client of
  the realm ``wingspan`` and a user in its group ``ml-team``; see scripts/testenv/keycloak.py).
- ``jaeger_env`` (session): ``WINGSPAN_TEST_OTLP_ENDPOINT`` (OTLP over HTTP in) and
  ``WINGSPAN_TEST_JAEGER_QUERY`` (Jaeger's query API, ``/api/traces``).
- ``nats_env`` (session): ``WINGSPAN_TEST_NATS_URL``, a NATS server with JetStream.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from scripts.testenv import azurite, fakegcs, jaeger, keycloak, minio, nats, postgres, registry
from scripts.testenv.base import ServiceError
from tests.real.stores import STORE_KINDS, TokenEndpoint, settings_for, small_parts
from tests.unit.remote.servers import api_server
from wingspan.core.config import Settings
from wingspan.core.storage import BlobStore, open_blob_store
from wingspan.core.storage.s3 import S3BlobStore
from wingspan.server.serve import ApiServer

TEST_BUCKET = "wingspan-test"


def _ensure(name: str, ensure: Callable[[], dict[str, str]]) -> dict[str, str]:
    try:
        return ensure()
    except ServiceError as exc:
        pytest.fail(f"the test service {name} could not start: {exc}", pytrace=False)


@pytest.fixture(scope="session")
def postgres_env() -> dict[str, str]:
    return _ensure("postgres", postgres.ensure)


@pytest.fixture
def pg_url(postgres_env: dict[str, str]) -> str:
    return postgres_env["WINGSPAN_TEST_PG_URL"]


@pytest.fixture
def pg_dsn(postgres_env: dict[str, str]) -> str:
    return postgres_env["WINGSPAN_TEST_PG_DSN"]


@pytest.fixture(scope="session")
def minio_env() -> dict[str, str]:
    return _ensure("minio", minio.ensure)


@pytest.fixture(scope="session")
def azurite_env() -> dict[str, str]:
    return _ensure("azurite", azurite.ensure)


@pytest.fixture(scope="session")
def fakegcs_env() -> dict[str, str]:
    return _ensure("fakegcs", fakegcs.ensure)


@pytest.fixture(scope="session")
def gcs_token_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TokenEndpoint]:
    with TokenEndpoint.serving(tmp_path_factory.mktemp("gcs-credentials")) as endpoint:
        yield endpoint


@pytest.fixture(params=STORE_KINDS)
def store_kind(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    return kind


@pytest.fixture
def store_settings(store_kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Settings whose storage is a fresh prefix in the test bucket of ``store_kind``'s service."""
    if store_kind == "s3":
        settings: Settings = request.getfixturevalue("s3_settings")
        return settings
    env = request.getfixturevalue("azurite_env" if store_kind == "azure" else "fakegcs_env")
    tokens = request.getfixturevalue("gcs_token_endpoint") if store_kind == "gcs" else None
    return settings_for(store_kind, env, tmp_path / "home", tokens)


@pytest.fixture
async def blob_store(store_settings: Settings) -> AsyncIterator[BlobStore]:
    """An open store of each kind on a fresh prefix (5 MiB parts, so uploads in parts show with
    small objects); everything below it is deleted afterwards."""
    store = small_parts(open_blob_store(store_settings))
    async with store:
        await store.ensure_bucket()
        yield store
        await store.delete_prefix(store.root + "/")


@pytest.fixture
async def store_server(store_settings: Settings, tmp_path: Path) -> AsyncIterator[ApiServer]:
    """A server with its engine on each kind of store (emptied afterwards). Unlike ``s3_server``,
    nothing is put in this process's environment: worker processes learn the store from the
    store's own ``environment()``, as under ``wingspan serve``."""
    async with api_server(tmp_path / "home", engine=True, settings=store_settings) as running:
        yield running
    async with open_blob_store(store_settings) as store:
        await store.delete_prefix(store.root + "/")


@pytest.fixture(scope="session")
def registry_env() -> dict[str, str]:
    return _ensure("registry", registry.ensure)


@pytest.fixture(scope="session")
def nats_env() -> dict[str, str]:
    return _ensure("nats", nats.ensure)


@pytest.fixture(scope="session")
def keycloak_env() -> dict[str, str]:
    return _ensure("keycloak", keycloak.ensure)


@pytest.fixture(scope="session")
def jaeger_env() -> dict[str, str]:
    return _ensure("jaeger", jaeger.ensure)


@pytest.fixture
def s3_settings(minio_env: dict[str, str], tmp_path: Path) -> Settings:
    return Settings(
        home=tmp_path / "home",
        storage=f"s3://{TEST_BUCKET}/{uuid.uuid4().hex[:12]}",
        s3_endpoint=minio_env["WINGSPAN_TEST_S3_ENDPOINT"],
        s3_access_key=minio_env["WINGSPAN_TEST_S3_ACCESS_KEY"],
        s3_secret_key=minio_env["WINGSPAN_TEST_S3_SECRET_KEY"],
        s3_region=minio_env["WINGSPAN_TEST_S3_REGION"],
    )


@pytest.fixture
async def s3_store(s3_settings: Settings) -> AsyncIterator[S3BlobStore]:
    store = S3BlobStore(
        s3_settings.storage, endpoint=s3_settings.s3_endpoint,
        access_key=s3_settings.s3_access_key, secret_key=s3_settings.s3_secret_key,
        region=s3_settings.s3_region, part_size=5 * 1024 * 1024,
    )
    async with store:
        await store.ensure_bucket()
        yield store
        await store.delete_prefix(store.root + "/")


@pytest.fixture
async def s3_server(s3_settings: Settings, tmp_path: Path,
                    monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[ApiServer]:
    # the server's worker processes read the store's settings from the environment
    for name in ("s3_endpoint", "s3_access_key", "s3_secret_key", "s3_region"):
        monkeypatch.setenv(f"WINGSPAN_{name.upper()}", str(getattr(s3_settings, name)))
    async with api_server(tmp_path / "home", engine=True, settings=s3_settings) as running:
        yield running
    async with S3BlobStore.from_settings(s3_settings) as store:
        await store.delete_prefix(store.root + "/")
