"""The Azure and GCS stores without a service: their URIs, settings, how sources are cut into
parts, and GCS's V4 URL signing against Google's published vectors. Their requests themselves
are tested against the emulators (tests/real/storage)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from wingspan.core.config import Settings
from wingspan.core.errors import ConfigError, NotFoundError
from wingspan.core.storage import open_blob_store, store_for_uri
from wingspan.core.storage.azure import AzureBlobStore
from wingspan.core.storage.gcs import GcsBlobStore, ServiceAccount
from wingspan.core.storage.sources import parts_of
from wingspan.core.storage.uris import BlobUri, InvalidUriError, parse_uri, relative_key

VECTORS = json.loads((Path(__file__).parent / "data" / "gcs_v4_vectors.json").read_text())
# Azurite's documented development key: any valid base64 serves here
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def test_azure_and_gcs_uris_parse_and_print() -> None:
    assert parse_uri("abfs://models/runs/a.bin") == BlobUri("abfs", "models", "runs/a.bin")
    assert str(parse_uri("az://models/runs/a.bin")) == "abfs://models/runs/a.bin"  # adlfs's alias
    assert parse_uri("gs://my_bucket.x/k") == BlobUri("gs", "my_bucket.x", "k")
    assert str(parse_uri("gs://b-1/a b/c")) == "gs://b-1/a b/c"
    assert relative_key("az://models/runs", "abfs://models/runs/x") == "x"


@pytest.mark.parametrize(("uri", "message"), [
    ("abfs://models@acct.dfs.core.windows.net/x", "set the storage account as azure_account"),
    ("abfs://Models/x", "invalid Azure container 'Models'"),
    ("abfs://a--b/x", "single '-'"),
    ("abfs://under_score/x", "invalid Azure container"),
    ("gs://UPPER/x", "invalid GCS bucket 'UPPER'"),
    ("gs://bkt/" + "k" * 1025, "GCS key in"),
    ("gs://bucket/a/../b", "may not be empty, '.' or '..'"),
    ("wasb://c/x", "expected one of file://, s3://, abfs://, gs://"),
])
def test_bad_cloud_uris_are_refused_saying_why(uri: str, message: str) -> None:
    with pytest.raises(InvalidUriError, match=message.replace(".", r"\.").replace("(", r"\(")):
        parse_uri(uri)


def test_settings_pick_the_store_by_scheme(tmp_path: Path) -> None:
    azure = Settings(home=tmp_path, storage="abfs://data/wingspan", azure_account="acct",
                     azure_account_key=KEY)
    store = open_blob_store(azure)
    assert isinstance(store, AzureBlobStore) and store.root == "abfs://data/wingspan"
    assert store.environment() == {"WINGSPAN_AZURE_ACCOUNT": "acct", "WINGSPAN_AZURE_ACCOUNT_KEY": KEY,
                                   "WINGSPAN_AZURE_ENDPOINT": "https://acct.blob.core.windows.net"}
    assert store.upload_headers() == {"x-ms-blob-type": "BlockBlob"}
    other = store_for_uri("az://other/x", azure)
    assert isinstance(other, AzureBlobStore) and other.root == "abfs://other/"
    gcs = Settings(home=tmp_path, storage="gs://data/wingspan", gcs_endpoint="http://127.0.0.1:1")
    store = open_blob_store(gcs)
    assert isinstance(store, GcsBlobStore) and store.upload_headers() == {}
    assert store.environment()["WINGSPAN_GCS_ENDPOINT"] == "http://127.0.0.1:1"


def test_missing_or_wrong_azure_credentials_name_the_setting(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="azure_account"):
        open_blob_store(Settings(home=tmp_path, storage="abfs://data/x"))
    with pytest.raises(ConfigError, match=r"access key \(base64\) in azure_account_key"):
        open_blob_store(Settings(home=tmp_path, storage="abfs://data/x", azure_account="a",
                                 azure_account_key="not base64!"))


def test_the_azure_key_may_come_from_a_file(tmp_path: Path) -> None:
    secret = tmp_path / "azure.key"
    secret.write_text(KEY + "\n")
    secret.chmod(0o600)
    settings = Settings.load(env={"WINGSPAN_AZURE_ACCOUNT_KEY_FILE": str(secret)})
    assert settings.azure_account_key == KEY


def test_a_bad_gcs_credentials_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the GCS credentials file"):
        GcsBlobStore("gs://data", credentials_file=str(tmp_path / "missing.json"))
    bad = tmp_path / "bad.json"
    bad.write_text('{"client_email": "x@y"}')
    with pytest.raises(ConfigError, match="is not a service account key file"):
        GcsBlobStore("gs://data", credentials_file=str(bad))


async def test_gcs_without_a_key_file_signs_no_urls() -> None:
    store = GcsBlobStore("gs://data", endpoint="http://127.0.0.1:1")
    with pytest.raises(ConfigError, match="set gcs_credentials_file"):
        await store.presigned_url(store.uri("x"))


def test_importing_storage_loads_no_cloud_store() -> None:
    code = ("import sys, wingspan.core.storage; "
            "print(sorted(m for m in sys.modules if m in ('wingspan.core.storage.azure', "
            "'wingspan.core.storage.gcs', 'cryptography')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("vector", VECTORS["vectors"], ids=lambda v: v["description"])
def test_gcs_v4_signed_urls_match_googles_conformance_vectors(vector: dict[str, str]) -> None:
    """Google's conformance vectors (googleapis/conformance-tests): fake-gcs-server does not check
    signatures, so this is where the signature itself is checked, byte for byte."""
    account = ServiceAccount(VECTORS["service_account"], "the conformance service account")
    url = account.signed_url(
        "https://storage.googleapis.com", vector["bucket"], vector["object"], method=vector["method"],
        expires_in=timedelta(seconds=int(vector["expiration"])),
        now=datetime.fromisoformat(vector["timestamp"].replace("Z", "+00:00")))
    assert url == vector["expectedUrl"]


async def chunks(*sizes: int) -> AsyncIterator[bytes]:
    for i, size in enumerate(sizes):
        yield bytes([i]) * size


@pytest.mark.parametrize(("sizes", "expected"), [
    ((), [(0, True)]),
    ((3,), [(3, True)]),
    ((4,), [(4, True)]),
    ((4, 4), [(4, False), (4, True)]),
    ((1, 2, 3, 4), [(4, False), (4, False), (2, True)]),
    ((9,), [(4, False), (4, False), (1, True)]),
])
async def test_sources_are_cut_into_equal_parts_and_the_last_is_marked(
        sizes: tuple[int, ...], expected: list[tuple[int, bool]]) -> None:
    got = [(part, last) async for part, last in parts_of(chunks(*sizes), "x://y", 4)]
    assert [(len(part), last) for part, last in got] == expected
    assert b"".join(part for part, _ in got) == b"".join([c async for c in chunks(*sizes)])


async def test_parts_of_bytes_and_files(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(b"abcdefghij")
    assert [p async for p, _ in parts_of(path, "x://y", 4)] == [b"abcd", b"efgh", b"ij"]
    assert [p async for p, _ in parts_of(memoryview(b"abcd"), "x://y", 4)] == [b"abcd"]
    with pytest.raises(NotFoundError, match="no local file"):
        [p async for p, _ in parts_of(tmp_path / "nope", "x://y", 4)]
    with pytest.raises(TypeError, match="cannot store a str"):
        [p async for p, _ in parts_of("text", "x://y", 4)]  # type: ignore[arg-type]
