"""`wingspan serve --db-url ... --storage s3://...`: PostgreSQL and MinIO selected from the
command line, the S3 endpoint from an option, the keys from the environment, the region
from a config file."""

from __future__ import annotations

import asyncio
import signal
import uuid
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.real.conftest import TEST_BUCKET
from tests.unit.api.served import run_schemathesis, wingspan_serve

pytestmark = pytest.mark.real


async def test_serve_on_postgres_and_minio(pg_url: str, pg_dsn: str, minio_env: dict[str, str],
                                           tmp_path: Path) -> None:
    name = f"wingspan_serve_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(pg_dsn.rsplit("/", 1)[0] + "/postgres", timeout=30)
    await admin.execute(f'CREATE DATABASE "{name}"')
    config = tmp_path / "wingspan.toml"
    config.write_text(f's3_region = "{minio_env["WINGSPAN_TEST_S3_REGION"]}"\n')
    env = {"WINGSPAN_HOME": str(tmp_path / "home"),
           "WINGSPAN_S3_ACCESS_KEY": minio_env["WINGSPAN_TEST_S3_ACCESS_KEY"],
           "WINGSPAN_S3_SECRET_KEY": minio_env["WINGSPAN_TEST_S3_SECRET_KEY"]}
    endpoint = minio_env["WINGSPAN_TEST_S3_ENDPOINT"]
    prefix = uuid.uuid4().hex[:12]
    try:
        env["WINGSPAN_DB_URL"] = pg_url.rsplit("/", 1)[0] + f"/{name}"  # a password: never a flag
        async with wingspan_serve("--storage", f"s3://{TEST_BUCKET}/{prefix}", "--s3-endpoint", endpoint,
                                  "--config", str(config), env=env) as (server, http_url, _, _):
            async with httpx.AsyncClient(base_url=http_url, timeout=30) as http:
                assert (await http.get("/readyz")).status_code == 200
                location = (await http.post("/api/v1/CreateUploadLocation", json={
                    "project": "default", "domain": "development", "filename": "data.bin"})).json()
                assert location["nativeUrl"].startswith(f"s3://{TEST_BUCKET}/{prefix}/uploads/")
                assert location["signedUrl"].startswith(f"{endpoint}/{TEST_BUCKET}/{prefix}/uploads/")
                assert (await http.put(location["signedUrl"], content=b"on minio")).status_code == 200
                download = (await http.post("/api/v1/CreateDownloadLocation", json={
                    "nativeUrl": location["nativeUrl"]})).json()
                assert (await http.get(download["signedUrl"])).content == b"on minio"
            server.process.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(server.process.wait(), 30) == 0
        db = await asyncpg.connect(pg_dsn.rsplit("/", 1)[0] + f"/{name}", timeout=30)
        try:
            assert await db.fetchval(  # the server migrated this database
                "SELECT count(*) FROM information_schema.tables "
                                     "WHERE table_schema = 'public'") > 0
        finally:
            await db.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.mark.slow
async def test_schemathesis_on_postgres_and_minio(pg_url: str, pg_dsn: str, minio_env: dict[str, str],
                                                  tmp_path: Path) -> None:
    """PostgreSQL refuses what SQLite stores (NUL characters in text, for one): fuzz it too."""
    name = f"wingspan_st_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(pg_dsn.rsplit("/", 1)[0] + "/postgres", timeout=30)
    await admin.execute(f'CREATE DATABASE "{name}"')
    env = {"WINGSPAN_HOME": str(tmp_path / "home"),
           "WINGSPAN_S3_ENDPOINT": minio_env["WINGSPAN_TEST_S3_ENDPOINT"],
           "WINGSPAN_S3_ACCESS_KEY": minio_env["WINGSPAN_TEST_S3_ACCESS_KEY"],
           "WINGSPAN_S3_SECRET_KEY": minio_env["WINGSPAN_TEST_S3_SECRET_KEY"],
           "WINGSPAN_S3_REGION": minio_env["WINGSPAN_TEST_S3_REGION"]}
    try:
        env["WINGSPAN_DB_URL"] = pg_url.rsplit("/", 1)[0] + f"/{name}"  # a password: never a flag
        async with wingspan_serve("--storage", f"s3://{TEST_BUCKET}/{uuid.uuid4().hex[:12]}",
                                  env=env) as (server, http_url, _, _):
            returncode, report = await run_schemathesis(http_url, str(tmp_path))
            assert returncode == 0, report + "\n--- server log ---\n" + "".join(server.lines)
            assert not any(" ERROR " in line for line in server.lines), "".join(server.lines)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
